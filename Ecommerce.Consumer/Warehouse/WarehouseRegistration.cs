using Ecommerce.Consumer.Warehouse.Snowflake;
using Ecommerce.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Ecommerce.Consumer.Warehouse;

public static class WarehouseRegistration
{
    public const string ProviderKey = "Warehouse:Provider";
    public const string ConnectionName = "warehouse";
    public const string SaveStoredIdsEveryKey = "Warehouse:SaveStoredIdsEvery";

    /// <summary>Whether <c>Warehouse:Provider</c> chooses Snowflake.</summary>
    public static bool UsesSnowflake(IConfiguration configuration) =>
        string.Equals(configuration[ProviderKey], "Snowflake", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Registers the warehouse chosen by <c>Warehouse:Provider</c> (DuckDb by default, or Snowflake) and the
    /// star-schema writer on top of it. Missing or wrong settings fail here, at start-up, naming the key to set.
    /// </summary>
    public static IHostApplicationBuilder AddWarehouse(this IHostApplicationBuilder builder)
    {
        var provider = builder.Configuration[ProviderKey] is { Length: > 0 } configured ? configured : "DuckDb";
        if (provider.Equals("DuckDb", StringComparison.OrdinalIgnoreCase))
        {
            var connectionString = builder.Configuration.GetConnectionString(ConnectionName);
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new InvalidConfigurationException(
                    $"ConnectionStrings:{ConnectionName} is not set. Give the DuckDB file, e.g. the environment variable " +
                    $"ConnectionStrings__{ConnectionName}=\"Data Source=/var/lib/ecommerce/ecommerce.duckdb\".");
            }

            var saveEvery = SavedOrderIds.DefaultSaveEvery;
            if (builder.Configuration[SaveStoredIdsEveryKey] is { Length: > 0 } every
                && (!long.TryParse(every, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out saveEvery) || saveEvery < 1))
            {
                throw new InvalidConfigurationException($"{SaveStoredIdsEveryKey} is '{every}'; expected a whole number of orders, at least 1 (default {SavedOrderIds.DefaultSaveEvery}).");
            }

            builder.Services.AddSingleton<IWarehouseProvider>(sp => OpenDuckDb(connectionString, saveEvery, sp.GetRequiredService<ILogger<DuckDbWarehouseProvider>>()));
        }
        else if (provider.Equals("Snowflake", StringComparison.OrdinalIgnoreCase))
        {
            AddSnowflake(builder);
        }
        else
        {
            throw new InvalidConfigurationException($"{ProviderKey} is '{provider}'; expected DuckDb or Snowflake.");
        }

        builder.Services.AddSingleton<StarSchemaWriter>();
        return builder;
    }

    private static void AddSnowflake(IHostApplicationBuilder builder)
    {
        builder.AddSettings<SnowflakeOptions>(SnowflakeOptions.SectionName);
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<SnowflakeOptions>>().Value);
        builder.Services.AddSingleton(sp => SnowflakeCredentials.From(sp.GetRequiredService<SnowflakeOptions>(), sp.GetRequiredService<TimeProvider>()));
        // The key is read and parsed with the settings, so that a missing file or a wrong passphrase stops the start-up.
        builder.Services.AddSettingsCheck(services => services.GetRequiredService<SnowflakeCredentials>());
        // An HttpClient of its own, outside IHttpClientFactory: the service defaults give factory clients a retry
        // handler, and a generic retry would resubmit a statement without the requestId + retry=true that keep
        // Snowflake from running it twice. The SQL API client does its own retries. (Tracing and HTTP metrics come
        // from the runtime's own instrumentation, so this client is still on the dashboard.)
        builder.Services.AddKeyedSingleton(SnowflakeSqlApiClient.HttpClientKey, (sp, _) => SnowflakeSqlApiClient.CreateHttpClient(sp.GetRequiredService<SnowflakeOptions>()));
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<SnowflakeSqlApiClient>(
            sp, sp.GetRequiredKeyedService<HttpClient>(SnowflakeSqlApiClient.HttpClientKey)));
        builder.Services.AddSingleton<IWarehouseProvider>(sp => new SnowflakeWarehouseProvider(
            sp.GetRequiredService<SnowflakeSqlApiClient>(), sp.GetRequiredService<SnowflakeOptions>(), sp.GetRequiredService<TimeProvider>()));
    }

    private static DuckDbWarehouseProvider OpenDuckDb(string connectionString, long saveStoredIdsEvery, ILogger<DuckDbWarehouseProvider> logger)
    {
        try
        {
            return new DuckDbWarehouseProvider(connectionString, saveStoredIdsEvery, logger);
        }
        catch (Exception ex) when (ex is DuckDB.NET.Data.DuckDBException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidConfigurationException(
                $"The DuckDB warehouse given by ConnectionStrings:{ConnectionName} ('{connectionString}') could not be opened: {ex.Message}", ex);
        }
    }
}
