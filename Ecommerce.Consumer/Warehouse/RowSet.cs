namespace Ecommerce.Consumer.Warehouse;

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
    /// same with or without them (a join that finds nothing for them). A query reading such a set must yield rows only
    /// through its ids (an inner join): when the provider leaves every id out, it may answer with no rows without
    /// running the query.
    /// </summary>
    public bool OrderIdsToLookUp { get; init; }

    /// <summary>A typed query that returns no row, to stand for the set when it is empty (types as the warehouse names them).</summary>
    public string EmptySelect(Func<Column, string> sqlType) =>
        "(SELECT " + string.Join(", ", Columns.Select(c => $"CAST(NULL AS {sqlType(c)}) AS {c.Name}")) + " WHERE 1 = 0)";
}
