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
    /// How many rows the statement must change (insert, update or delete); if it changes another number, the transaction
    /// fails and writes nothing. Only a provider that counts the rows a statement changed (DuckDB) can honour it, so it
    /// is for a statement's <see cref="WhenNothingCommitted"/> shortcut, which only such a provider runs.
    /// </summary>
    public int? MustChangeRows { get; init; }

    /// <summary>
    /// The table this statement does nothing but append its one row set's rows to, each column of the set into the
    /// table's column of the same name (any other column left NULL). A provider with a faster way to append rows
    /// (DuckDB's appender) may use it instead of running the statement.
    /// </summary>
    public string? AppendsTo { get; init; }
}
