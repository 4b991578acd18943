using Ecommerce.Consumer.Analytics;
using Ecommerce.Consumer.Orders;
using Ecommerce.Producer.Simulation;
using Ecommerce.Tests.Infrastructure;
using Ecommerce.Tests.Warehouse;

namespace Ecommerce.Tests.Analytics;

/// <summary>
/// The four analytics questions, answered by the SQL in sql/analytics over a warehouse filled by the real
/// ingestion code, checked against the same answers computed here in plain C# from the events themselves.
/// </summary>
public abstract class AnalyticsQueriesTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private WarehouseTestBed _bed = null!;
    private List<ParsedOrder> _orders = [];
    private AnalyticsQueries _queries = null!;

    protected abstract string Warehouse { get; }

    public async Task InitializeAsync()
    {
        _bed = await WarehouseTestBed.CreateAsync(Warehouse, Now);
        // Four months of history from the simulator, with late events and region moves; written in batches, shuffled
        // so that events arrive out of time order.
        var generator = new OrderGenerator(
            new SimulatorOptions { Seed = 99, Customers = 300, BackfillDays = 120, BackfillCount = 3_000, LateRate = 0.1 },
            new FixedTimeProvider(Now));
        var events = Enumerable.Range(0, 3_000).Select(_ => WarehouseTestBed.Parse(generator.Next().Payload)).ToList();
        var shuffled = events.OrderBy(_ => Random.Shared.Next()).ToList();
        foreach (var batch in shuffled.Chunk(400))
        {
            await _bed.IngestAsync(batch);
        }

        _orders = events.Select(e => e.Order).ToList();
        _queries = new AnalyticsQueries(_bed.Provider, _bed.Time);
    }

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    [Fact]
    public async Task Monthly_sales_by_category_and_region_match_the_events()
    {
        var expected = MonthlySalesOf(_orders);

        var actual = await _queries.MonthlySalesAsync(new DateOnly(1900, 1, 1), new DateOnly(9999, 12, 31), CancellationToken.None);

        Assert.True(expected.Select(s => s.Month).Distinct().Count() >= 4);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Monthly_sales_of_a_date_range_count_only_the_orders_of_those_days()
    {
        // A range that starts and ends inside months, so both edge months are partial.
        var days = _orders.Select(o => DateOnly.FromDateTime(o.OrderTimestamp)).Distinct().Order().ToList();
        var (from, to) = (days[days.Count / 4], days[days.Count * 3 / 4]);
        var inside = _orders.Where(o => DateOnly.FromDateTime(o.OrderTimestamp) >= from && DateOnly.FromDateTime(o.OrderTimestamp) < to).ToList();
        var expected = MonthlySalesOf(inside);

        var actual = await _queries.MonthlySalesAsync(from, to, CancellationToken.None);

        Assert.InRange(inside.Count, 1, _orders.Count - 1);
        Assert.Equal(expected, actual);
    }

    /// <summary>The answer key: monthly sales by category and region computed from the orders themselves.</summary>
    private static List<MonthlySales> MonthlySalesOf(IEnumerable<ParsedOrder> orders) => orders
            .GroupBy(o => (o.OrderTimestamp.Year, o.OrderTimestamp.Month, o.Category, o.CustomerRegion))
            .Select(g => new MonthlySales(g.Key.Year, g.Key.Month, g.Key.Category, g.Key.CustomerRegion, g.Count(), g.Sum(o => o.Quantity), g.Sum(o => o.Price * o.Quantity)))
            .OrderBy(s => s.Year).ThenBy(s => s.Month).ThenBy(s => s.Category, StringComparer.Ordinal).ThenBy(s => s.Region, StringComparer.Ordinal)
            .ToList();

    [Fact]
    public async Task A_summary_gives_the_totals_of_a_window_and_of_the_window_before_it()
    {
        var to = Now.UtcDateTime.AddDays(-10);
        var from = to.AddDays(-30);
        (long Orders, long Units, decimal Revenue, long Customers) Totals(DateTime start, DateTime end)
        {
            var inside = _orders.Where(o => o.OrderTimestamp >= start && o.OrderTimestamp < end).ToList();
            return (inside.Count, inside.Sum(o => o.Quantity), inside.Sum(o => o.Price * o.Quantity), inside.Select(o => o.CustomerId).Distinct().Count());
        }

        var summary = await _queries.SalesSummaryAsync(from, to, CancellationToken.None);

        var (orders, units, revenue, customers) = Totals(from, to);
        var previous = Totals(from.AddDays(-30), from);
        Assert.True(orders > 100 && previous.Orders > 100);
        Assert.Equal(from.AddDays(-30), summary.PreviousFrom);
        Assert.Equal(new SalesTotals(orders, units, revenue, decimal.Round(revenue / orders, 2), customers), summary.Current);
        Assert.Equal(new SalesTotals(previous.Orders, previous.Units, previous.Revenue, decimal.Round(previous.Revenue / previous.Orders, 2), previous.Customers), summary.Previous);
        Assert.Equal((double)(revenue - previous.Revenue) / (double)previous.Revenue, summary.RevenueChange!.Value, 9);

        // A window with no orders before it: the totals are zero and there is no change to give.
        var first = await _queries.SalesSummaryAsync(Now.UtcDateTime.AddYears(-5), Now.UtcDateTime.AddYears(-5).AddDays(1), CancellationToken.None);
        Assert.Equal(new SalesTotals(0, 0, 0, 0, 0), first.Current);
        Assert.Null(first.OrdersChange);
    }

    [Fact]
    public async Task Top_customers_are_the_repeat_customers_of_the_period_most_orders_first()
    {
        var since = Now.UtcDateTime.AddDays(-30);
        var latest = _orders.GroupBy(o => o.CustomerId).ToDictionary(g => g.Key, g => g.MaxBy(o => o.OrderTimestamp));
        var expected = _orders
            .Where(o => o.OrderTimestamp >= since)
            .GroupBy(o => o.CustomerId)
            .Where(g => g.Count() > 1)
            .Select(g => new RepeatCustomer(g.Key, latest[g.Key].CustomerName, latest[g.Key].CustomerRegion, g.Count(), g.Sum(o => o.Price * o.Quantity), g.Max(o => o.OrderTimestamp)))
            .OrderByDescending(c => c.Orders).ThenByDescending(c => c.Revenue).ThenBy(c => c.CustomerId, StringComparer.Ordinal)
            .Take(10)
            .ToList();

        var actual = await _queries.TopCustomersAsync(30, 10, CancellationToken.None);

        Assert.Equal(10, expected.Count);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Quantity_and_average_price_per_product_match_the_events()
    {
        var latest = _orders.GroupBy(o => o.ProductId).ToDictionary(g => g.Key, g => g.MaxBy(o => o.OrderTimestamp));
        var expected = _orders
            .GroupBy(o => o.ProductId)
            .Select(g => new ProductQuantity(g.Key, latest[g.Key].ProductName, latest[g.Key].Category, g.Sum(o => o.Quantity), g.Count(),
                decimal.Round(g.Average(o => o.Price), 2, MidpointRounding.AwayFromZero), g.Sum(o => o.Price * o.Quantity)))
            .OrderByDescending(p => p.QuantitySold).ThenBy(p => p.ProductId, StringComparer.Ordinal)
            .ToList();

        var actual = await _queries.ProductQuantitiesAsync(10_000, CancellationToken.None);

        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i] with { AveragePrice = 0 }, actual[i] with { AveragePrice = 0 });
            Assert.InRange(actual[i].AveragePrice, expected[i].AveragePrice - 0.01m, expected[i].AveragePrice + 0.01m);
        }
    }

    [Fact]
    public async Task Multi_region_customers_are_those_seen_in_more_than_one_region()
    {
        var latest = _orders.GroupBy(o => o.CustomerId).ToDictionary(g => g.Key, g => g.MaxBy(o => o.OrderTimestamp));
        var expected = _orders
            .GroupBy(o => o.CustomerId)
            .Where(g => g.Select(o => o.CustomerRegion).Distinct().Count() > 1)
            .Select(g => new MultiRegionCustomer(g.Key, latest[g.Key]!.CustomerName, latest[g.Key]!.CustomerRegion,
                g.Select(o => o.CustomerRegion).Distinct().Count(), g.Count(), g.Min(o => o.OrderTimestamp), g.Max(o => o.OrderTimestamp)))
            .OrderByDescending(c => c.Regions).ThenByDescending(c => c.Orders).ThenBy(c => c.CustomerId, StringComparer.Ordinal)
            .ToList();

        var actual = await _queries.MultiRegionCustomersAsync(10_000, CancellationToken.None);
        var firstTwo = await _queries.MultiRegionCustomersAsync(2, CancellationToken.None);
        var topProducts = await _queries.ProductQuantitiesAsync(3, CancellationToken.None);

        Assert.True(expected.Count > 2, $"{expected.Count} multi-region customers in the test data");
        Assert.Equal(expected, actual);
        Assert.Equal(expected.Take(2), firstTwo);
        Assert.Equal((await _queries.ProductQuantitiesAsync(10_000, CancellationToken.None)).Take(3), topProducts);
    }

    [Fact]
    public async Task Every_order_points_at_the_customer_version_with_its_own_name_and_region()
    {
        var rows = await _bed.QueryAsync(
            "SELECT f.ORDER_ID, c.CUSTOMER_NAME, c.CUSTOMER_REGION, c.VALID_FROM <= f.ORDER_TIMESTAMP AND (c.VALID_TO IS NULL OR f.ORDER_TIMESTAMP < c.VALID_TO) " +
            "FROM FACT_ORDERS f JOIN DIM_CUSTOMER c ON c.CUSTOMER_SK = f.CUSTOMER_SK");
        var byId = _orders.ToDictionary(o => o.OrderId);

        Assert.Equal(_orders.Count, rows.Count);
        Assert.All(rows, r =>
        {
            var order = byId[(string)r[0]!];
            Assert.Equal((order.CustomerName, order.CustomerRegion, true), ((string)r[1]!, (string)r[2]!, (bool)r[3]!));
        });
        var current = await _bed.QueryAsync("SELECT CUSTOMER_ID, COUNT(*) FROM DIM_CUSTOMER WHERE IS_CURRENT GROUP BY CUSTOMER_ID HAVING COUNT(*) <> 1");
        Assert.Empty(current);
    }
}

[Trait("Category", "Fast")]
public sealed class AnalyticsQueriesOnDuckDbTests : AnalyticsQueriesTests
{
    protected override string Warehouse => WarehouseTestBed.DuckDb;
}

[Trait("Category", "Fast")]
public sealed class AnalyticsQueriesOnSnowflakeTests : AnalyticsQueriesTests
{
    protected override string Warehouse => WarehouseTestBed.Snowflake;
}
