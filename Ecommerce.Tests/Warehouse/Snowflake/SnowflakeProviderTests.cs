using System.Globalization;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Consumer.Warehouse.Snowflake;

namespace Ecommerce.Tests.Warehouse.Snowflake;

/// <summary>What the Snowflake provider sends, beyond what lands: settings an account could otherwise change.</summary>
[Trait("Category", "Fast")]
public sealed class SnowflakeProviderTests
{
    [Fact]
    public async Task Timestamps_are_declared_without_time_zone_whatever_the_accounts_type_mapping()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.Snowflake);
        await bed.IngestAsync(WarehouseTestBed.Order("o-1", new DateTime(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc)));

        var statements = bed.SnowflakeDouble!.Requests.Where(r => r.Method == "POST").Select(r => r.Detail).ToArray();
        var schema = Assert.Single(statements, s => s.Contains("CREATE TABLE IF NOT EXISTS FACT_ORDERS", StringComparison.Ordinal));
        Assert.StartsWith("ALTER SESSION SET TIMESTAMP_TYPE_MAPPING = 'TIMESTAMP_NTZ'", schema, StringComparison.Ordinal);
        var staging = statements.Where(s => s.StartsWith("CREATE TRANSIENT TABLE", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(staging);
        Assert.All(staging, s => Assert.DoesNotMatch(@"\bTIMESTAMP\b(?!_NTZ)", s));
        Assert.All(statements.Where(s => s.Contains("CAST(", StringComparison.Ordinal)), s => Assert.DoesNotMatch(@"AS TIMESTAMP\)", s));
    }

    [Fact]
    public async Task A_stale_batch_is_recognised_from_the_warehouse_even_when_snowflake_cuts_the_error_text()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.Snowflake);
        var t0 = new DateTime(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);
        await bed.Writer.WriteAsync([WarehouseTestBed.Order("o-1", t0)], [new("orders", 0, 100, "a") { FirstOffset = 0 }], CancellationToken.None);
        bed.SnowflakeDouble!.MultiStatementErrorLimit = 60; // Long enough for the runner's preamble, too short for the reason.

        var error = await Assert.ThrowsAsync<StaleBatchException>(() => bed.Writer.WriteAsync(
            [WarehouseTestBed.Order("o-2", t0)], [new("orders", 0, 60, "b") { FirstOffset = 40 }], CancellationToken.None));

        Assert.Contains("partition 0 is already stored up to offset 100", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ECOMMERCE_STALE", error.InnerException!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_transaction_that_nobody_overtook_stays_an_ordinary_failure()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.Snowflake);
        await bed.SnowflakeDouble!.QueryAsync("DROP TABLE DIM_DATE");

        var error = await Assert.ThrowsAnyAsync<Exception>(() => bed.Writer.WriteAsync(
            [WarehouseTestBed.Order("o-1", new DateTime(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc))], [new("orders", 0, 10, "a") { FirstOffset = 0 }], CancellationToken.None));

        Assert.IsNotType<StaleBatchException>(error);
        Assert.IsNotType<StaleReadException>(error);
        Assert.Contains("DIM_DATE", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Staging_tables_dropped_by_hand_are_created_again_on_the_next_attempt()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.Snowflake);
        var t0 = new DateTime(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);
        await bed.Writer.WriteAsync([WarehouseTestBed.Order("o-1", t0)], [new("orders", 0, 1, "a") { FirstOffset = 0 }], CancellationToken.None);
        var staging = (await bed.SnowflakeDouble!.QueryAsync(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'ECOMMERCE_STAGE%'")).Select(r => (string)r[0]!).ToList();
        Assert.NotEmpty(staging);
        foreach (var table in staging)
        {
            await bed.SnowflakeDouble.QueryAsync($"DROP TABLE {table}");
        }

        var afterDrops = bed.SnowflakeDouble.Requests.Count;

        // The first attempt meets the missing tables (a refused statement); the provider then checks which of its tables
        // exist, and the retry creates them again, as the ingestion service's retry would.
        await Assert.ThrowsAnyAsync<Exception>(() => bed.Writer.WriteAsync(
            [WarehouseTestBed.Order("o-2", t0.AddMinutes(1))], [new("orders", 0, 2, "b") { FirstOffset = 1 }], CancellationToken.None));
        await bed.Writer.WriteAsync(
            [WarehouseTestBed.Order("o-2", t0.AddMinutes(1))], [new("orders", 0, 2, "b") { FirstOffset = 1 }], CancellationToken.None);

        var stored = await bed.SnowflakeDouble.QueryAsync("SELECT ORDER_ID FROM FACT_ORDERS ORDER BY ORDER_ID");
        Assert.Equal(["o-1", "o-2"], stored.Select(r => (string)r[0]!));
        // Nothing that holds data was dropped or created again: only staging tables came back.
        var created = bed.SnowflakeDouble.Requests.Skip(afterDrops)
            .Where(r => r.Method == "POST" && r.Detail.Contains("CREATE", StringComparison.Ordinal)).Select(r => r.Detail).ToArray();
        Assert.NotEmpty(created);
        Assert.All(created, d => Assert.StartsWith("CREATE TRANSIENT TABLE IF NOT EXISTS ECOMMERCE_STAGE_", d, StringComparison.Ordinal));
        Assert.DoesNotContain(bed.SnowflakeDouble.Requests.Skip(afterDrops), r => r.Detail.Contains("DROP", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_writer_that_waited_for_the_lock_is_refused_when_the_holder_stored_its_order_though_its_reads_lag_behind()
    {
        // The holder commits while the waiter's session is already open; under READ_CONSISTENCY_MODE = SESSION the
        // waiter's plain reads may not see that commit (here: not for 30 s). Only what its own statements change and
        // lock is fresh, so its check must rest on that, or the waiter commits the order as new: its customer's history
        // counts it twice and the stored fact keeps the waiter's mark.
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.Snowflake);
        var snowflake = bed.SnowflakeDouble!;
        await bed.IngestAsync(WarehouseTestBed.Order("o-0", T0));
        snowflake.ReadLag = TimeSpan.FromSeconds(30);
        snowflake.StatementLatency = TimeSpan.FromMilliseconds(500);
        var holder = new StarSchemaWriter(bed.OpenAnotherProvider(), bed.Time);
        var order = WarehouseTestBed.Order("o-1", T0.AddMinutes(1), customerId: "C2");
        Task? holding = null;
        var waiter = new StarSchemaWriter(new Differential.InterceptingWarehouse(bed.Provider)
        {
            // After the waiter's reads, the holder writes the same order (another partition: orders keyed by nothing) and
            // holds the lock of INGESTION_OFFSETS (its first statement's MERGE) before the waiter's transaction arrives.
            BeforeNextTransaction = async () =>
            {
                var before = snowflake.Requests.Count(r => r.IsBatchTransaction);
                holding = holder.WriteAsync([order with { Source = new("orders", 1, 0) }], [new("orders", 1, 1, "h") { FirstOffset = 0 }], CancellationToken.None);
                while (snowflake.Requests.Count(r => r.IsBatchTransaction) == before)
                {
                    await Task.Delay(20);
                }

                await Task.Delay(TimeSpan.FromSeconds(1));
            },
        }, bed.Time);

        var plan = await waiter.PlanAsync([order with { Source = new("orders", 0, 1) }], CancellationToken.None);
        Assert.Single(plan.Classification.New);
        await Assert.ThrowsAsync<StaleReadException>(() => waiter.WriteAsync(plan, [new("orders", 0, 2, "w") { FirstOffset = 1 }], CancellationToken.None));
        await holding!;

        // The scenario happened as described: the refused transaction waited for the lock, beyond the two statements
        // (ALTER SESSION, BEGIN) that come before it.
        var transactions = snowflake.Runs.Where(r => r.Kind == "transaction").ToArray();
        Assert.Contains(transactions, r => !r.Succeeded && r.LockWait > (snowflake.StatementLatency * 2) + TimeSpan.FromMilliseconds(500));
        Assert.Equal(1L, Convert.ToInt64((await snowflake.QueryAsync("SELECT COUNT(*) FROM FACT_ORDERS WHERE ORDER_ID = 'o-1' AND BATCH_ID IS NULL"))[0][0], CultureInfo.InvariantCulture));
        Assert.Equal(1L, Convert.ToInt64((await snowflake.QueryAsync("SELECT CAST(SUM(ORDER_COUNT) AS BIGINT) FROM DIM_CUSTOMER WHERE CUSTOMER_ID = 'C2'"))[0][0], CultureInfo.InvariantCulture));
        Assert.True(snowflake.LaggedReads > 0);
    }

    [Fact]
    public async Task Parameters_are_bound_in_the_documented_forms_a_fraction_as_text_and_null_as_a_literal()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.Snowflake);

        var row = Assert.Single(await bed.QueryAsync("SELECT CAST(? AS DECIMAL(18,2)) * 2, ? IS NULL, CAST(? AS BIGINT) + 1", 12.34m, null, 41m));

        Assert.Equal(24.68m, Convert.ToDecimal(row[0], CultureInfo.InvariantCulture));
        Assert.Equal(true, row[1]);
        Assert.Equal(42L, Convert.ToInt64(row[2], CultureInfo.InvariantCulture));
        var request = bed.SnowflakeDouble!.Requests.Last(r => r.Detail.StartsWith("SELECT CAST(?", StringComparison.Ordinal));
        Assert.Contains("NULL IS NULL", request.Detail, StringComparison.Ordinal);
        // The double takes note of any other form (a FIXED value with a fraction, a value that is not a string); the bed
        // asserts on dispose that it took none.
    }

    private static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void A_row_set_named_in_a_comment_or_literal_is_bound_once_where_the_statement_reads_it()
    {
        var rows = new RowSet("landed", [new("ID", ColumnType.Text)], [["a"]]);
        var bindings = new List<SqlApiBinding>();
        var rendered = 0;

        var sql = SnowflakeWarehouseProvider.Render(
            SqlStatement.WithSources("-- appends {landed}\nINSERT INTO T SELECT ID FROM {landed} WHERE ID <> '{landed}' AND ID <> ?", rows) with { Parameters = ["b"] },
            bindings,
            source => { rendered++; bindings.Add(new SqlApiBinding("TEXT", "[]")); return "(ROWS)"; });

        Assert.Equal("-- appends {landed}\nINSERT INTO T SELECT ID FROM (ROWS) WHERE ID <> '{landed}' AND ID <> ?", sql);
        Assert.Equal(1, rendered);
        Assert.Equal(2, bindings.Count); // The set's and the parameter's: as many as the '?' SQL reads.
    }
}
