using Ecommerce.Consumer.Warehouse;

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

        // The first attempt meets the missing tables (Snowflake's 002003); the provider forgets them, and the retry
        // creates them again, as the ingestion service's retry would.
        await Assert.ThrowsAnyAsync<Exception>(() => bed.Writer.WriteAsync(
            [WarehouseTestBed.Order("o-2", t0.AddMinutes(1))], [new("orders", 0, 2, "b") { FirstOffset = 1 }], CancellationToken.None));
        await bed.Writer.WriteAsync(
            [WarehouseTestBed.Order("o-2", t0.AddMinutes(1))], [new("orders", 0, 2, "b") { FirstOffset = 1 }], CancellationToken.None);

        var stored = await bed.SnowflakeDouble.QueryAsync("SELECT ORDER_ID FROM FACT_ORDERS ORDER BY ORDER_ID");
        Assert.Equal(["o-1", "o-2"], stored.Select(r => (string)r[0]!));
    }
}
