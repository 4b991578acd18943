namespace Ecommerce.Tests.Warehouse.Snowflake;

/// <summary>What the Snowflake provider sends, beyond what lands: settings an account could otherwise change.</summary>
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
}
