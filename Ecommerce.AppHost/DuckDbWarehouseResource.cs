namespace Ecommerce.AppHost;

/// <summary>
/// The embedded warehouse, a DuckDB file, as a resource of the application model: it is listed on the dashboard with
/// its path, and the ingestion service takes its connection string with <c>WithReference</c>
/// (<c>ConnectionStrings:warehouse</c>).
/// </summary>
public sealed class DuckDbWarehouseResource(string name, string path) : Resource(name), IResourceWithConnectionString
{
    /// <summary>The full path of the DuckDB file; it survives restarts of the stack.</summary>
    public string Path { get; } = path;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"Data Source={Path}");
}
