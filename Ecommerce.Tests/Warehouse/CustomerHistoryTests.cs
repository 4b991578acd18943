using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Tests.Warehouse;

/// <summary>
/// The shortcut of the history rebuild (<see cref="CustomerHistory.Extend"/>) against the general rebuild, on random
/// histories built batch by batch as the writer builds them. The general rebuild itself is checked against the
/// independent reference model by the differential tests.
/// </summary>
[Trait("Category", "Fast")]
public sealed class CustomerHistoryTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_batch_the_shortcut_takes_gets_the_history_the_general_rebuild_gives(int seed)
    {
        var random = new Random(seed);
        var taken = 0;
        var declined = 0;
        for (var customer = 0; customer < 300; customer++)
        {
            var customerId = $"C{customer}";
            var stored = new List<CustomerVersion>();
            var storedOrders = new List<(string OrderId, DateTime At)>();
            var clock = 0;
            for (var batch = 0; batch < 6; batch++)
            {
                // Mostly later orders under the current name and region; sometimes a move, a late order or two at once.
                var orders = Enumerable.Range(0, random.Next(1, 4)).Select(i =>
                {
                    var late = random.Next(6) == 0;
                    clock += random.Next(0, 3);
                    var at = T0.AddMinutes(late ? random.Next(0, clock + 1) : clock + 1);
                    var region = random.Next(5) == 0 ? "South" : "North";
                    return new CustomerObservation($"{customerId}-{batch}-{i}", at, random.Next(8) == 0 ? "Ada B" : "Ada", region);
                }).ToList();
                clock++;

                var opened = CustomerHistory.VersionsToOpen(stored, orders.ConvertAll(o => o.Timestamp)).Select(v => v.Sk).ToHashSet();
                var openedOrders = storedOrders.Select(o => new StoredCustomerOrder(o.OrderId, o.At, VersionAt(stored, o.At).Sk))
                    .Where(o => opened.Contains(o.Sk)).ToList();

                var general = CustomerHistory.RebuildInFull(customerId, stored, openedOrders, orders);
                if (openedOrders.Count == 0 && CustomerHistory.Extend(customerId, stored, orders) is { } shortcut)
                {
                    taken++;
                    Assert.Equal(general.Versions, shortcut.Versions);
                    Assert.Equal(general.Changed, shortcut.Changed);
                    Assert.Equal(general.Retired, shortcut.Retired);
                    Assert.Equal(general.NewOrderVersions.OrderBy(p => p.Key, StringComparer.Ordinal), shortcut.NewOrderVersions.OrderBy(p => p.Key, StringComparer.Ordinal));
                    Assert.Equal(general.StoredOrdersMove, shortcut.StoredOrdersMove);
                }
                else
                {
                    declined++;
                }

                stored = [.. general.Versions];
                storedOrders.AddRange(orders.Select(o => (o.OrderId, o.Timestamp)));
            }
        }

        // Both ways are exercised: the shortcut on most batches, the general rebuild on moves and late orders.
        Assert.True(taken > 450, $"the shortcut took {taken} batches");
        Assert.True(declined > 300, $"the shortcut declined {declined} batches");
    }

    public static TheoryData<string, CustomerVersion[]> MalformedHistories => new()
    {
        // Consecutive versions the rebuild would merge (same name and region).
        { "equal neighbours", [new(1, "C1", "Ada", "North", T0, T0.AddHours(1), T0, 1), new(2, "C1", "Ada", "South", T0.AddHours(1), T0.AddHours(2), T0.AddHours(1), 1), new(3, "C1", "Ada", "South", T0.AddHours(2), null, T0.AddHours(2), 1)] },
        { "another customer's version", [new(1, "C1", "Ada", "North", T0, T0.AddHours(1), T0, 1), new(2, "C2", "Ada", "South", T0.AddHours(1), null, T0.AddHours(1), 1)] },
        { "a gap before the next version", [new(1, "C1", "Ada", "North", T0, T0.AddMinutes(30), T0, 1), new(2, "C1", "Ada", "South", T0.AddHours(1), null, T0.AddHours(1), 1)] },
        { "last order before the version begins", [new(1, "C1", "Ada", "North", T0, T0.AddHours(1), T0, 1), new(2, "C1", "Ada", "South", T0.AddHours(1), null, T0.AddMinutes(30), 1)] },
        { "overlapping versions", [new(1, "C1", "Ada", "North", T0, T0.AddHours(1), T0.AddHours(2), 2), new(2, "C1", "Ada", "South", T0.AddHours(1), null, T0.AddHours(3), 1)] },
        { "no current version", [new(1, "C1", "Ada", "North", T0, T0.AddHours(1), T0, 1), new(2, "C1", "Ada", "South", T0.AddHours(1), T0.AddHours(5), T0.AddHours(1), 1)] },
        { "out of order", [new(2, "C1", "Ada", "South", T0.AddHours(1), null, T0.AddHours(1), 1), new(1, "C1", "Ada", "North", T0, T0.AddHours(1), T0, 1)] },
    };

    [Theory]
    [MemberData(nameof(MalformedHistories))]
    public void A_stored_history_not_as_the_rebuild_leaves_it_is_left_to_the_general_rebuild(string shape, CustomerVersion[] stored)
    {
        CustomerObservation[] orders = [new("o-9", T0.AddHours(6), "Ada", "South")];

        Assert.True(CustomerHistory.Extend("C1", stored, orders) is null, shape);
        var rebuilt = CustomerHistory.Rebuild("C1", stored, [], orders);
        var general = CustomerHistory.RebuildInFull("C1", stored, [], orders);
        Assert.Equal(general.Versions, rebuilt.Versions);
        Assert.Equal(general.Changed, rebuilt.Changed);
        Assert.Equal(general.Retired, rebuilt.Retired);
    }

    private static CustomerVersion VersionAt(List<CustomerVersion> versions, DateTime at) =>
        versions.Last(v => v.ValidFrom <= at);
}
