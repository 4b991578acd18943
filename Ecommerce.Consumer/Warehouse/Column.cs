namespace Ecommerce.Consumer.Warehouse;

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
