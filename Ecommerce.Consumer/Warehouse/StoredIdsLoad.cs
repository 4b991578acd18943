namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// How a DuckDB provider loaded the ids of the stored orders: from the copy kept beside the file (and the ids stored
/// after it), or from every row of FACT_ORDERS; how many it read from the fact table, and how long it took.
/// </summary>
public sealed record StoredIdsLoad(bool FromSavedCopy, long IdsReadFromFactTable, TimeSpan Elapsed);
