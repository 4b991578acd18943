using Ecommerce.Consumer.Ingestion;
using Ecommerce.Consumer.Orders;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Tests.Warehouse;

/// <summary>
/// A batch's facts as DuckDB appends them (value by value) and as a warehouse that stages rows reads them (a list of
/// values per row): the same values, of the types their columns say.
/// </summary>
[Trait("Category", "Fast")]
public sealed class FactOrderRowsTests
{
    [Fact]
    public void Each_row_holds_the_orders_values_in_the_columns_order_whichever_way_it_is_read()
    {
        var at = new DateTime(2024, 5, 1, 23, 59, 59, DateTimeKind.Utc).AddTicks(1_234_560);
        var ingested = new DateTime(2026, 12, 6, 1, 2, 3, DateTimeKind.Utc);
        var first = Order(new ParsedOrder("o-1", at, "c-1", "Ada", "North", "p-1", "Laptop", "Electronics", 1299.99m, 3), "orders", 2, 41);
        var second = Order(new ParsedOrder("o-2", at.AddDays(1), "c-2", "Bo", "South", "p-2", "Mug", "Home", 0.05m, 7), "orders", 5, 9_000_000_000);
        var rows = new FactOrderRows([first, second], [17, 4_000_000_000], ingested);

        object?[][] expected =
        [
            ["o-1", at, new DateOnly(2024, 5, 1), "c-1", 17L, "p-1", 1299.99m, 3, 3899.97m, first.ContentDigest, "orders", 2, 41L, ingested],
            ["o-2", at.AddDays(1), new DateOnly(2024, 5, 2), "c-2", 4_000_000_000L, "p-2", 0.05m, 7, 0.35m, second.ContentDigest, "orders", 5, 9_000_000_000L, ingested],
        ];
        Assert.Equal(2, rows.Count);
        for (var row = 0; row < rows.Count; row++)
        {
            Assert.Equal(expected[row], rows[row]);
            var written = new RecordingWriter();
            for (var column = 0; column < FactOrderRows.Columns.Length; column++)
            {
                rows.WriteValue(row, column, written);
                Assert.Equal(column + 1, written.Values.Count); // One value per column, no more.
                Assert.Equal(FactOrderRows.Columns[column].Type, written.Types[column]);
                Assert.Equal(expected[row][column], written.Values[column]);
                Assert.Equal(TypeOf(FactOrderRows.Columns[column].Type), rows[row][column]!.GetType());
            }
        }

        Assert.Equal(expected, rows.ToArray());
    }

    private static IncomingOrder Order(ParsedOrder order, string topic, int partition, long offset) =>
        new(order, OrderValidator.Digest(order), new SourcePosition(topic, partition, offset), default);

    /// <summary>The .NET type a value of each column type is boxed as (what the warehouses' row sets expect).</summary>
    private static Type TypeOf(ColumnType type) => type switch
    {
        ColumnType.Text => typeof(string),
        ColumnType.Integer => typeof(int),
        ColumnType.BigInt => typeof(long),
        ColumnType.Decimal => typeof(decimal),
        ColumnType.Timestamp => typeof(DateTime),
        ColumnType.Date => typeof(DateOnly),
        ColumnType.Boolean => typeof(bool),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private sealed class RecordingWriter : IValueWriter
    {
        public List<object?> Values { get; } = [];

        public List<ColumnType?> Types { get; } = [];

        public void WriteNull() => Add(null, null);

        public void WriteText(string value) => Add(value, ColumnType.Text);

        public void WriteInteger(int value) => Add(value, ColumnType.Integer);

        public void WriteBigInt(long value) => Add(value, ColumnType.BigInt);

        public void WriteDecimal(decimal value) => Add(value, ColumnType.Decimal);

        public void WriteTimestamp(DateTime value) => Add(value, ColumnType.Timestamp);

        public void WriteDate(DateOnly value) => Add(value, ColumnType.Date);

        public void WriteBoolean(bool value) => Add(value, ColumnType.Boolean);

        private void Add(object? value, ColumnType? type)
        {
            Values.Add(value);
            Types.Add(type);
        }
    }
}
