namespace Ecommerce.Consumer.Warehouse;

/// <summary>Column types the star schema uses, named independently of any one warehouse's dialect.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "The members are SQL type names on purpose.")]
public enum ColumnType
{
    Text,
    Integer,
    BigInt,
    Decimal,
    Timestamp,
    Date,
    Boolean,
}

public sealed record Column(string Name, ColumnType Type)
{
    /// <summary>The type's name in SQL, the same on DuckDB and Snowflake (as in sql/schema).</summary>
    public string SqlType => Type switch
    {
        ColumnType.Text => "VARCHAR",
        ColumnType.Integer => "INTEGER",
        ColumnType.BigInt => "BIGINT",
        ColumnType.Decimal => "DECIMAL(18,2)",
        ColumnType.Timestamp => "TIMESTAMP",
        ColumnType.Date => "DATE",
        ColumnType.Boolean => "BOOLEAN",
        _ => throw new ArgumentOutOfRangeException(nameof(Type), Type, null),
    };
}

/// <summary>
/// Rows a statement reads as a table, written <c>{name}</c> in the SQL. A provider may split a large row set and run
/// a query once per part, so statements must read row sets as keys to look up, not aggregate over them. Each provider brings them in its own
/// best way (DuckDB appends them to a temporary table, Snowflake binds them as one JSON value), so that the
/// statements themselves are the same text on every warehouse.
/// </summary>
public sealed record RowSet(string Name, IReadOnlyList<Column> Columns, IReadOnlyList<object?[]> Rows)
{
    /// <summary>
    /// The rows are order ids (first column) to look up among the stored orders. A provider that knows which ids it
    /// certainly does not hold (<see cref="StoredOrderIds"/>) leaves those rows out; the statement must then mean the
    /// same with or without them (a join that finds nothing for them).
    /// </summary>
    public bool OrderIdsToLookUp { get; init; }
}

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

/// <summary>
/// What the ingestion service needs from a warehouse: run the schema script, read, and apply a list of
/// statements as one transaction. Everything else (the star-schema logic) is shared by all warehouses.
/// </summary>
public interface IWarehouseProvider : IAsyncDisposable
{
    /// <summary>The OpenTelemetry <c>db.system.name</c> of this warehouse, e.g. <c>duckdb</c>.</summary>
    string SystemName { get; }

    /// <summary>Runs a script of several <c>;</c>-separated statements (the schema).</summary>
    Task ExecuteScriptAsync(string script, CancellationToken cancellationToken);

    /// <summary>
    /// Runs a query and returns its rows with values as .NET types, the same on every warehouse: string, long (any
    /// whole number), decimal, double, bool, DateOnly, DateTime (UTC), or null.
    /// </summary>
    Task<IReadOnlyList<object?[]>> QueryAsync(SqlStatement statement, CancellationToken cancellationToken);

    /// <summary>Applies the statements in order as one transaction: all of them, or none.</summary>
    Task ExecuteTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken);
}
