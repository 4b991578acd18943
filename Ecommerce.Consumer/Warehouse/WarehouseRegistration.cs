namespace Ecommerce.Consumer.Warehouse;

public static class WarehouseRegistration
{
    public const string ProviderKey = "Warehouse:Provider";
    public const string ConnectionName = "warehouse";

    /// <summary>
    /// Registers the warehouse chosen by <c>Warehouse:Provider</c> (DuckDb by default) and the star-schema writer
    /// on top of it. Missing or wrong settings fail here, at start-up, naming the key to set.
    /// </summary>
    public static IHostApplicationBuilder AddWarehouse(this IHostApplicationBuilder builder)
    {
        var provider = builder.Configuration[ProviderKey] is { Length: > 0 } configured ? configured : "DuckDb";
        if (provider.Equals("DuckDb", StringComparison.OrdinalIgnoreCase))
        {
            var connectionString = builder.Configuration.GetConnectionString(ConnectionName);
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new InvalidOperationException(
                    $"ConnectionStrings:{ConnectionName} is not set. Give the DuckDB file, e.g. the environment variable " +
                    $"ConnectionStrings__{ConnectionName}=\"Data Source=/var/lib/ecommerce/ecommerce.duckdb\".");
            }

            builder.Services.AddSingleton<IWarehouseProvider>(_ => OpenDuckDb(connectionString));
        }
        else
        {
            throw new InvalidOperationException($"{ProviderKey} is '{provider}'; the supported warehouse is DuckDb.");
        }

        builder.Services.AddSingleton<StarSchemaWriter>();
        return builder;
    }

    private static DuckDbWarehouseProvider OpenDuckDb(string connectionString)
    {
        try
        {
            return new DuckDbWarehouseProvider(connectionString);
        }
        catch (Exception ex) when (ex is DuckDB.NET.Data.DuckDBException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"The DuckDB warehouse given by ConnectionStrings:{ConnectionName} ('{connectionString}') could not be opened: {ex.Message}", ex);
        }
    }
}
