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

    /// <summary>
    /// A cheaper statement that proves as much as this one once nothing has committed since the batch read the
    /// warehouse. A provider with a <see cref="IWarehouseProvider.CommitSequence"/> that still has the value
    /// <see cref="CommitShortcut.Since"/> (taken before those reads) when the transaction runs, under its write lock,
    /// runs the shortcut's statement in place of this one; other providers ignore it.
    /// </summary>
    public CommitShortcut? WhenNothingCommitted { get; init; }

    /// <summary>
    /// A check to run right after this statement unless it changed (inserted, updated or deleted) a given number of rows.
    /// Only a provider that counts the rows a statement changed (DuckDB) can leave the check out, so this is for a
    /// statement's <see cref="WhenNothingCommitted"/> shortcut, which only such a provider runs.
    /// </summary>
    public ChangeCountCheck? CheckUnlessChanged { get; init; }

    /// <summary>
    /// The table this statement does nothing but append its one row set's rows to, each column of the set into the
    /// table's column of the same name (any other column left NULL). A provider with a faster way to append rows
    /// (DuckDB's appender) may use it instead of running the statement.
    /// </summary>
    public string? AppendsTo { get; init; }

    /// <summary>
    /// A read that scans much of the warehouse (an analytics query) and gains from every core. A provider that narrows
    /// its engine's threads for small statements (DuckDB, <see cref="DuckDbThreads"/>) widens them for such a read;
    /// ignored for a read that stages row sets (it runs as the writer's transaction does).
    /// </summary>
    public bool ScansWarehouse { get; init; }
}
