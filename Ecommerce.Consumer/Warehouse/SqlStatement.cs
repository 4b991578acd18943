namespace Ecommerce.Consumer.Warehouse;

/// <summary>One SQL statement with its positional (<c>?</c>) parameters and the row sets it reads.</summary>
public sealed record SqlStatement(string Sql, IReadOnlyList<object?> Parameters, IReadOnlyList<RowSet> Sources)
{
    public SqlStatement(string sql, params object?[] parameters)
        : this(sql, parameters, [])
    {
    }

    public static SqlStatement WithSources(string sql, params RowSet[] sources) => new(sql, [], sources);

    /// <summary>
    /// The order ids this statement stores as facts. A provider that keeps <see cref="StoredOrderIds"/> records them
    /// before the statement runs.
    /// </summary>
    public IReadOnlyList<string> StoresOrderIds { get; init; } = [];
}
