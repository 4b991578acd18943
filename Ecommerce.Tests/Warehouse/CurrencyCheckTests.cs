using System.Globalization;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Tests.Warehouse;

/// <summary>The statement that refuses a stale batch (sql/ingestion/check_batch_is_current.sql), as any engine may run it.</summary>
[Trait("Category", "Fast")]
public sealed class CurrencyCheckTests
{
    [Theory]
    [InlineData("ingestion/check_batch_is_current.sql")]
    [InlineData("ingestion/check_batch_is_current_by_reading.sql")]
    public async Task A_current_batch_passes_the_check_whatever_order_an_engine_evaluates_its_clauses_in(string check)
    {
        // Neither Snowflake nor DuckDB promises to filter rows before computing what a query selects. An engine may
        // compute the conversion for every row of the outermost FROM, as if no WHERE stood there; a current batch must
        // pass all the same. So the check is run here with whatever follows its outermost FROM taken away.
        var sql = SqlScripts.Get(check);
        var outermost = sql.LastIndexOf(") AS c", StringComparison.Ordinal);
        Assert.True(outermost > 0, "the check's outermost query reads a derived table named c");
        var projectedFirst = sql[..(outermost + ") AS c".Length)];

        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.DuckDb);
        var rows = await bed.Provider.QueryAsync(SqlStatement.WithSources(projectedFirst,
            new RowSet("offsets", [
                new("TOPIC", ColumnType.Text), new("PARTITION_ID", ColumnType.Integer), new("NEXT_OFFSET", ColumnType.BigInt),
                new("LAST_RECORD_DIGEST", ColumnType.Text), new("UPDATED_AT", ColumnType.Timestamp), new("FIRST_OFFSET", ColumnType.BigInt)], []),
            new RowSet("new_orders", [new("ORDER_ID", ColumnType.Text)], [["o-2"]]), // Read by the reading check only.
            new RowSet("customers", [new("CUSTOMER_ID", ColumnType.Text), new("READ_ORDER_COUNT", ColumnType.BigInt)], [["C2", 0L]]),
            new RowSet("landings", [new("LANDING_NO", ColumnType.Integer), new("LANDING_ID", ColumnType.Text)], [[0, "l-1"]]), // A modelling cycle's.
            new RowSet("batch", [new("ID", ColumnType.Text)], [[Guid.NewGuid().ToString("N")]])), CancellationToken.None);

        Assert.Equal(0L, Convert.ToInt64(Assert.Single(rows)[0], CultureInfo.InvariantCulture));
    }
}
