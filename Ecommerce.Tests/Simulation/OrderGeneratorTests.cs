using System.Text.Json;
using Ecommerce.Producer.Simulation;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Simulation;

[Trait("Category", "Fast")]
public sealed class OrderGeneratorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static List<SimulatedEvent> Generate(int count, SimulatorOptions options, TimeProvider? time = null)
    {
        var generator = new OrderGenerator(options, time ?? new FixedTimeProvider(Now));
        return Enumerable.Range(0, count).Select(_ => generator.Next()).ToList();
    }

    [Fact]
    public void Same_seed_gives_the_same_orders_ids_included()
    {
        var options = new SimulatorOptions { Seed = 42, Customers = 500, InvalidRate = 0.05 };

        var first = Generate(2_000, options);
        var second = Generate(2_000, options);

        Assert.Equal(first.Select(e => Convert.ToBase64String(e.Payload)), second.Select(e => Convert.ToBase64String(e.Payload)));
        Assert.Equal(first.Select(e => e.Key), second.Select(e => e.Key));
    }

    [Fact]
    public void Different_seeds_and_unseeded_runs_give_different_order_ids()
    {
        var seeded = Generate(100, new SimulatorOptions { Seed = 1 }).Select(e => e.Order.OrderId);
        var otherSeed = Generate(100, new SimulatorOptions { Seed = 2 }).Select(e => e.Order.OrderId);
        var unseeded1 = Generate(100, new SimulatorOptions()).Select(e => e.Order.OrderId);
        var unseeded2 = Generate(100, new SimulatorOptions()).Select(e => e.Order.OrderId);

        Assert.Empty(seeded.Intersect(otherSeed));
        Assert.Empty(unseeded1.Intersect(unseeded2));
        Assert.Equal(100, unseeded1.Distinct().Count());
    }

    [Fact]
    public void A_store_seed_keeps_the_catalogue_and_customers_across_runs_while_orders_differ()
    {
        var options = new SimulatorOptions { StoreSeed = 2026, Customers = 300 };
        var first = new OrderGenerator(options, new FixedTimeProvider(Now));
        var second = new OrderGenerator(options, new FixedTimeProvider(Now));
        var other = new OrderGenerator(new SimulatorOptions { StoreSeed = 7, Customers = 300 }, new FixedTimeProvider(Now));

        static string[] Catalogue(OrderGenerator g) => g.Store.Products.Select(p => $"{p.Id}|{p.Name}|{p.Category}|{p.Price}").ToArray();
        static string[] People(OrderGenerator g) => g.Store.Customers.Select(c => $"{c.Id}|{c.Name}|{c.Region}").ToArray();
        Assert.Equal(Catalogue(first), Catalogue(second));
        Assert.Equal(People(first), People(second));
        Assert.NotEqual(Catalogue(first), Catalogue(other));
        Assert.NotEqual(People(first), People(other));

        var firstIds = Enumerable.Range(0, 200).Select(_ => first.Next().Order.OrderId).ToArray();
        var secondIds = Enumerable.Range(0, 200).Select(_ => second.Next().Order.OrderId).ToArray();
        Assert.Empty(firstIds.Intersect(secondIds));
    }

    [Fact]
    public void Valid_events_carry_exactly_the_wire_format_fields_with_their_types()
    {
        var events = Generate(200, new SimulatorOptions { Seed = 7 });

        foreach (var simulated in events)
        {
            using var json = JsonDocument.Parse(simulated.Payload);
            var root = json.RootElement;
            Assert.Equal(
                ["category", "customer_id", "customer_name", "customer_region", "order_id", "order_timestamp", "price", "product_id", "product_name", "quantity"],
                root.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
            foreach (var name in new[] { "order_id", "order_timestamp", "customer_id", "customer_name", "customer_region", "product_id", "product_name", "category" })
            {
                Assert.Equal(JsonValueKind.String, root.GetProperty(name).ValueKind);
            }

            Assert.Equal(JsonValueKind.Number, root.GetProperty("price").ValueKind);
            Assert.True(root.GetProperty("price").GetDecimal() >= 0);
            Assert.True(root.GetProperty("quantity").TryGetInt32(out var quantity) && quantity >= 1);
            Assert.True(Guid.TryParse(root.GetProperty("order_id").GetString(), out _));

            // "Now", in UTC, with the offset written out.
            var timestamp = root.GetProperty("order_timestamp").GetString()!;
            Assert.EndsWith("+00:00", timestamp, StringComparison.Ordinal);
            Assert.Equal(Now, DateTimeOffset.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(root.GetProperty("customer_id").GetString(), simulated.Key);
        }
    }

    [Fact]
    public void The_store_has_a_catalog_of_at_least_50_products_in_at_least_6_categories_and_every_category_sells()
    {
        var events = Generate(5_000, new SimulatorOptions { Seed = 3 });
        var generator = new OrderGenerator(new SimulatorOptions { Seed = 3 }, new FixedTimeProvider(Now));

        Assert.True(generator.Store.Products.Count >= 50);
        Assert.True(generator.Store.Products.Select(p => p.Category).Distinct().Count() >= 6);
        Assert.Equal(Store.Categories.Order(), events.Select(e => e.Order.Category).Distinct().Order());
        Assert.All(generator.Store.Products, p => Assert.InRange(p.Price, 0.99m, 2_000m));
    }

    [Fact]
    public void Purchases_are_skewed_so_that_repeat_customers_exist_and_most_customers_order_rarely()
    {
        var events = Generate(20_000, new SimulatorOptions { Seed = 11, Customers = 10_000 });
        var ordersPerCustomer = events.GroupBy(e => e.Order.CustomerId).Select(g => g.Count()).OrderDescending().ToArray();

        // Some customers order very often...
        Assert.True(ordersPerCustomer[0] >= 50, $"the busiest customer ordered {ordersPerCustomer[0]} times");
        Assert.True(ordersPerCustomer.Count(c => c > 1) >= 1_000);
        // ...but nobody dominates, and a long tail orders once or never.
        Assert.True(ordersPerCustomer[0] < events.Count * 0.02, $"the busiest customer placed {ordersPerCustomer[0]} of {events.Count} orders");
        Assert.True(ordersPerCustomer.Length < 10_000);
    }

    [Fact]
    public void Customers_move_region_and_keep_their_id()
    {
        var events = Generate(30_000, new SimulatorOptions { Seed = 5, Customers = 2_000 });

        var movers = events.GroupBy(e => e.Order.CustomerId).Count(g => g.Select(e => e.Order.CustomerRegion).Distinct().Count() > 1);

        Assert.True(movers >= 10, $"{movers} customers changed region");
        Assert.All(events, e => Assert.Contains(e.Order.CustomerRegion, Store.Regions));
    }

    [Fact]
    public void Quantities_are_mostly_one_to_five()
    {
        var quantities = Generate(10_000, new SimulatorOptions { Seed = 9 }).Select(e => e.Order.Quantity).ToArray();

        Assert.True(quantities.Count(q => q is >= 1 and <= 5) >= quantities.Length * 0.95);
        Assert.True(quantities.Count(q => q == 1) > quantities.Count(q => q == 2));
        Assert.All(quantities, q => Assert.True(q >= 1));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(0.5)]
    public void Invalid_events_of_every_kind_are_produced_at_the_requested_share(double invalidRate)
    {
        const int count = 20_000;
        var events = Generate(count, new SimulatorOptions { Seed = 21, InvalidRate = invalidRate });

        var invalid = events.Where(e => e.Kind != EventKind.Valid).ToList();
        Assert.InRange(invalid.Count, (invalidRate - 0.015) * count, (invalidRate + 0.015) * count);
        if (invalidRate > 0)
        {
            Assert.Equal(
                Enum.GetValues<EventKind>().Where(k => k != EventKind.Valid).Order(),
                invalid.Select(e => e.Kind).Distinct().Order());
        }

        foreach (var simulated in invalid)
        {
            AssertBrokenAsDescribed(simulated);
        }
    }

    [Fact]
    public void Backfill_spreads_the_first_orders_over_past_days_in_time_order_then_runs_at_now()
    {
        var events = Generate(1_100, new SimulatorOptions { Seed = 4, BackfillDays = 90, BackfillCount = 1_000 });

        var backfill = events.Take(1_000).Select(e => e.Order.OrderTimestamp).ToArray();
        Assert.True(backfill[0] < Now.AddDays(-89));
        Assert.Equal(backfill.Order(), backfill);
        Assert.True(backfill.Select(t => (t.Year, t.Month)).Distinct().Count() >= 3);
        Assert.All(events.Skip(1_000), e => Assert.Equal(Now, e.Order.OrderTimestamp));
    }

    [Fact]
    public void Late_events_are_stamped_up_to_two_days_before_they_are_sent()
    {
        var events = Generate(5_000, new SimulatorOptions { Seed = 8, LateRate = 0.2 });

        var late = events.Where(e => e.Order.OrderTimestamp < Now).ToArray();
        Assert.InRange(late.Length, 850, 1_150);
        Assert.All(late, e => Assert.InRange(e.Order.OrderTimestamp, Now.AddDays(-2), Now.AddMinutes(-1)));
    }

    private static void AssertBrokenAsDescribed(SimulatedEvent simulated)
    {
        if (simulated.Kind == EventKind.MalformedJson)
        {
            Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(simulated.Payload));
            return;
        }

        using var json = JsonDocument.Parse(simulated.Payload);
        var root = json.RootElement;
        switch (simulated.Kind)
        {
            case EventKind.MissingField:
                Assert.Equal(9, root.EnumerateObject().Count());
                break;
            case EventKind.NegativeQuantity:
                Assert.True(root.GetProperty("quantity").GetInt32() < 0);
                break;
            case EventKind.WrongType:
                Assert.True(root.GetProperty("quantity").ValueKind == JsonValueKind.String || root.GetProperty("price").ValueKind == JsonValueKind.String);
                break;
        }
    }
}
