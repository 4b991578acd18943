using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Tests.Warehouse;

/// <summary>
/// DuckDB brings a statement's row sets in three ways (an empty query, literal rows up to 16, a staged table beyond):
/// whichever it takes, a statement must read the same values, and no value is ever read as SQL.
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

    [Theory]
    [InlineData(6)] // Written as literal rows.
    [InlineData(40)] // Staged in a table.
    public async Task Values_that_look_like_sql_or_placeholders_are_stored_as_they_are(int count)
    {
        // A file: a plain query reads on a connection of its own, which an in-memory database would not share.
        var path = Path.Combine(Path.GetTempPath(), $"rowsets-{Guid.NewGuid():N}.duckdb");
        try
        {
            await StoreTrickyValuesAsync(path, count);
        }
        finally
        {
            foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(path) + "*"))
            {
                File.Delete(file);
            }
        }
    }

    private static async Task StoreTrickyValuesAsync(string path, int count)
    {
        await using var provider = new DuckDbWarehouseProvider($"Data Source={path}");
        await provider.ExecuteScriptAsync("CREATE TABLE T (A VARCHAR, B VARCHAR)", CancellationToken.None);
        string[] tricky = ["{second}", "x'); DROP TABLE T; --", "line\nbreak -- no comment", "{first}", "/* no comment */", "it''s ?"];
        var values = Enumerable.Range(0, count).Select(i => tricky[i % tricky.Length] + (i < tricky.Length ? "" : $" {i}")).ToArray();
        var first = new RowSet("first", [new("A", ColumnType.Text)], values.Select(v => new object?[] { v }).ToArray());
        var second = new RowSet("second", [new("B", ColumnType.Text)], [["{first}"]]);

        // A placeholder named in a comment, two sets in one statement, and a set two statements share.
        await provider.ExecuteTransactionAsync(
        [
            SqlStatement.WithSources("-- pairs {first} with {second}\nINSERT INTO T SELECT f.A, s.B FROM {first} AS f CROSS JOIN {second} AS s", first, second),
            SqlStatement.WithSources("INSERT INTO T SELECT A, 'again' FROM {first}", first),
        ], CancellationToken.None);

        var stored = await provider.QueryAsync(new SqlStatement("SELECT A, B FROM T"), CancellationToken.None);
        Assert.Equal(
            values.Select(v => (v, "{first}")).Concat(values.Select(v => (v, "again"))).Order(),
            stored.Select(r => ((string)r[0]!, (string)r[1]!)).Order());
    }

    [Fact]
    public Task Rows_of_a_statement_that_only_appends_them_are_appended_to_the_table_by_column_name() => InFileAsync(async provider =>
    {
        // The statement's own SQL would fail: the rows can only arrive through the appender, which fills the table's
        // columns by name, whatever their order, and leaves the one the set lacks NULL.
        await provider.ExecuteScriptAsync("CREATE TABLE TARGET (FLAG BOOLEAN, EXTRA VARCHAR, SEEN_ON DATE, SEEN_AT TIMESTAMP, MONEY DECIMAL(18,2), BIG BIGINT, WHOLE INTEGER, TEXT VARCHAR)", CancellationToken.None);
        var rows = Enumerable.Range(0, 40).Select(Row).ToArray();
        await provider.ExecuteTransactionAsync(
            [SqlStatement.WithSources("SELECT error('run as SQL, not appended')", new RowSet("given", Columns, rows)) with { AppendsTo = "target" }],
            CancellationToken.None);

        var read = await provider.QueryAsync(new SqlStatement("SELECT TEXT, WHOLE, BIG, MONEY, SEEN_AT, SEEN_ON, FLAG, EXTRA FROM TARGET ORDER BY BIG DESC"), CancellationToken.None);
        Assert.Equal(rows.Length, read.Count);
        for (var i = 0; i < rows.Length; i++)
        {
            var at = (DateTime)rows[i][4]!;
            Assert.Equal(new object?[] { rows[i][0], rows[i][1] is int whole ? (long)whole : null, rows[i][2], rows[i][3], at.AddTicks(-(at.Ticks % 10)), rows[i][5], rows[i][6], null }, read[i]);
        }
    });

    [Fact]
    public Task Rows_whose_types_differ_from_the_tables_are_inserted_by_the_statement_which_converts_them() => InFileAsync(async provider =>
    {
        // An appender would write an INTEGER's four bytes into a BIGINT column as they are; the statement casts them.
        await provider.ExecuteScriptAsync("CREATE TABLE TARGET (ID VARCHAR, AMOUNT BIGINT)", CancellationToken.None);
        Column[] columns = [new("ID", ColumnType.Text), new("AMOUNT", ColumnType.Integer)];
        object?[][] rows = [.. Enumerable.Range(0, 40).Select(i => new object?[] { $"r{i}", -i })];
        await provider.ExecuteTransactionAsync(
            [SqlStatement.WithSources("INSERT INTO TARGET (ID, AMOUNT) SELECT ID, AMOUNT FROM {given}", new RowSet("given", columns, rows)) with { AppendsTo = "TARGET" }],
            CancellationToken.None);

        var read = await provider.QueryAsync(new SqlStatement("SELECT ID, AMOUNT FROM TARGET ORDER BY AMOUNT DESC"), CancellationToken.None);
        Assert.Equal(rows.Select(r => (r[0], (object?)(long)(int)r[1]!)), read.Select(r => (r[0], r[1])));
    });

    /// <summary>Runs <paramref name="test"/> on a provider of a new file (a plain query reads on a connection of its own).</summary>
    private static async Task InFileAsync(Func<DuckDbWarehouseProvider, Task> test)
    {
        var path = Path.Combine(Path.GetTempPath(), $"rowsets-{Guid.NewGuid():N}.duckdb");
        try
        {
            await using var provider = new DuckDbWarehouseProvider($"Data Source={path}");
            await test(provider);
        }
        finally
        {
            foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(path) + "*"))
            {
                File.Delete(file);
            }
        }
    }
}
