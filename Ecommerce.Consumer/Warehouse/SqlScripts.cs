namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// The SQL the service runs, loaded from the <c>sql/</c> folder (copied next to the binaries), so that what runs
/// is exactly what a reader of the repository sees and can paste into their own warehouse.
/// </summary>
public static class SqlScripts
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "sql");
    private static readonly Dictionary<string, string> Cache = new(StringComparer.Ordinal);
    private static readonly Lock CacheLock = new();

    /// <summary>The schema scripts, in name order.</summary>
    public static IReadOnlyList<string> Schema() =>
        Directory.GetFiles(Path.Combine(Root, "schema"), "*.sql").Order(StringComparer.Ordinal).Select(File.ReadAllText).ToArray();

    /// <summary>A script by its path under <c>sql/</c>, e.g. <c>ingestion/insert_fact_orders.sql</c>.</summary>
    public static string Get(string relativePath)
    {
        lock (CacheLock)
        {
            if (!Cache.TryGetValue(relativePath, out var text))
            {
                var path = Path.Combine(Root, relativePath);
                if (!File.Exists(path))
                {
                    throw new FileNotFoundException($"The SQL script '{relativePath}' is missing from {Root}.", path);
                }

                text = File.ReadAllText(path);
                Cache[relativePath] = text;
            }

            return text;
        }
    }
}
