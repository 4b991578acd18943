using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Tests.Warehouse;

/// <summary>
/// DuckDB brings a statement's row sets in three ways (an empty query, literal rows up to a few dozen, a staged table
/// beyond): whichever it takes, a statement must read the same values.
/// </summary>
[Trait("Category", "Fast")]
public sealed class DuckDbRowSetTests
{
    private static readonly Column[] Columns =
    [
        new("TEXT", ColumnType.Text), new("WHOLE", ColumnType.Integer), new("BIG", ColumnType.BigInt), new("MONEY", ColumnType.Decimal),
        new("SEEN_AT", ColumnType.Timestamp), new("SEEN_ON", ColumnType.Date), new("FLAG", ColumnType.Boolean),
    ];

    /// <summary>Values that a careless literal would get wrong: quotes, backslashes, non-ASCII, microseconds, nulls.</summary>
    private static object?[] Row(int i) =>
    [
        i % 3 == 0 ? null : $"O'Brien \\ {i} 'quoted'' — Zürich 東京 ; --",
        i % 4 == 0 ? null : i - 5,
        long.MaxValue - i,
        i % 5 == 0 ? null : 1234567890123456.78m - i,
        new DateTime(2024, 5, 1, 12, 34, 56, DateTimeKind.Utc).AddTicks((i * 1_234_567L) + 9), // Sub-microsecond ticks too.
        new DateOnly(1999, 12, 31).AddDays(i),
        i % 2 == 0,
    ];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16)] // The most written as literal rows.
    [InlineData(17)] // The fewest staged in a table.
    [InlineData(500)]
    public async Task A_row_set_reads_back_the_same_whether_written_as_literals_or_staged(int count)
    {
        await using var provider = new DuckDbWarehouseProvider("Data Source=:memory:");
        var rows = Enumerable.Range(0, count).Select(Row).ToArray();
        var read = await provider.QueryAsync(SqlStatement.WithSources(
            "SELECT TEXT, WHOLE, BIG, MONEY, SEEN_AT, SEEN_ON, FLAG, typeof(MONEY), typeof(SEEN_AT) FROM {given} ORDER BY BIG DESC",
            new RowSet("given", Columns, rows)), CancellationToken.None);

        Assert.Equal(count, read.Count);
        for (var i = 0; i < count; i++)
        {
            var expected = rows[i];
            Assert.Equal(expected[0], read[i][0]);
            Assert.Equal(expected[1] is int whole ? (long)whole : null, read[i][1]);
            Assert.Equal(expected[2], read[i][2]);
            Assert.Equal(expected[3], read[i][3]);
            var at = (DateTime)expected[4]!;
            Assert.Equal(at.AddTicks(-(at.Ticks % 10)), read[i][4]); // Both ways keep microseconds.
            Assert.Equal(expected[5], read[i][5]);
            Assert.Equal(expected[6], read[i][6]);
            Assert.Equal("DECIMAL(18,2)", read[i][7]);
            Assert.Equal("TIMESTAMP", read[i][8]);
        }
    }
}
