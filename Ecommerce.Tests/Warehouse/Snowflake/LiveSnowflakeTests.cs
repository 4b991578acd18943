using Ecommerce.Consumer.Analytics;
using Ecommerce.Producer.Simulation;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Warehouse.Snowflake;

/// <summary>
/// The warehouse contract against a real Snowflake account, in a schema created for the test and dropped after:
/// the SQL, the bindings and the result formats as Snowflake itself takes and gives them.
/// </summary>
public sealed class LiveSnowflakeTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    [LiveSnowflakeFact]
    public async Task Redeliveries_conflicts_and_a_late_region_change_land_as_on_the_other_warehouses()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.SnowflakeLive);
        await bed.IngestAsync(WarehouseTestBed.Order("o-1", T0, region: "North", price: 19.99m, quantity: 3), WarehouseTestBed.Order("o-3", T0.AddDays(2), region: "North"));
        var again = await bed.IngestAsync(WarehouseTestBed.Order("o-1", T0, region: "North", price: 19.99m, quantity: 3), WarehouseTestBed.Order("o-1", T0, quantity: 9));
        await bed.IngestAsync(WarehouseTestBed.Order("o-2", T0.AddDays(1), region: "South"));

        Assert.Single(again.Duplicates);
        Assert.Single(again.Conflicts);
        Assert.Equal(3L, await bed.CountAsync("FACT_ORDERS"));
        Assert.Equal(59.97m, (await bed.QueryAsync("SELECT TOTAL_AMOUNT FROM FACT_ORDERS WHERE ORDER_ID = 'o-1'"))[0][0]);
        var versions = await bed.VersionsAsync("C1");
        Assert.Equal(
            [("North", T0, (DateTime?)T0.AddDays(1)), ("South", T0.AddDays(1), T0.AddDays(2)), ("North", T0.AddDays(2), null)],
            versions.Select(v => (v.Region, v.From, v.To)));
        Assert.Equal(new Dictionary<string, string> { ["o-1"] = "North", ["o-2"] = "South", ["o-3"] = "North" }, await bed.RegionAtOrderTimeAsync());
    }

    [LiveSnowflakeFact]
    public async Task Analytics_over_simulated_orders_match_the_events_and_large_row_sets_are_sliced()
    {
        var now = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.SnowflakeLive, now, options => options.MaxBytesPerStatement = 300_000);
        var generator = new OrderGenerator(new SimulatorOptions { Seed = 7, Customers = 200, BackfillDays = 60, BackfillCount = 2_000, LateRate = 0.1 }, new FixedTimeProvider(now));
        var events = Enumerable.Range(0, 2_000).Select(_ => WarehouseTestBed.Parse(generator.Next().Payload)).ToList();
        foreach (var batch in events.Chunk(1_000))
        {
            await bed.IngestAsync(batch);
        }

        var quantities = await new AnalyticsQueries(bed.Provider, bed.Time).ProductQuantitiesAsync(100, CancellationToken.None);

        var expected = events.GroupBy(e => e.Order.ProductId).ToDictionary(g => g.Key, g => (long)g.Sum(e => e.Order.Quantity));
        Assert.Equal(expected, quantities.ToDictionary(q => q.ProductId, q => q.QuantitySold));
        Assert.Equal(2_000L, await bed.CountAsync("FACT_ORDERS"));
    }
}
