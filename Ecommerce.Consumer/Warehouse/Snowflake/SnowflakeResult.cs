namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>The rows of a finished statement, every partition fetched, with the columns' Snowflake types.</summary>
public sealed record SnowflakeResult(string? StatementHandle, IReadOnlyList<SqlApiColumn> Columns, IReadOnlyList<IReadOnlyList<string?>> Rows);
