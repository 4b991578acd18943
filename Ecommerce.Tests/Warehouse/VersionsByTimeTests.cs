using Ecommerce.Consumer.Orders;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Tests.Warehouse;

/// <summary>
/// A modelling cycle's facts find their customer version by time among the versions it writes; before anything is
/// staged, the writer proves that rule gives each new order the version its history rebuild chose.
/// </summary>
public sealed class VersionsByTimeTests
{
    private static readonly DateTime Ten = new(2026, 12, 5, 10, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void Orders_in_disjoint_versions_that_match_the_rebuild_pass()
    {
        var north = Version(1, Ten, Ten.AddMinutes(10));
        var south = Version(2, Ten.AddMinutes(10), null);

        StarSchemaWriter.VerifyVersionsByTime(
            [Order("o-1", Ten.AddMinutes(5)), Order("o-2", Ten.AddMinutes(10)), Order("o-3", Ten.AddMinutes(20))],
            Histories([north, south], new() { ["o-1"] = 1, ["o-2"] = 2, ["o-3"] = 2 }));
    }

    [Fact]
    public void An_order_whose_time_falls_in_another_version_than_the_rebuild_chose_is_refused()
    {
        var north = Version(1, Ten, Ten.AddMinutes(10));
        var south = Version(2, Ten.AddMinutes(10), null);

        Assert.Throws<InvalidOperationException>(() => StarSchemaWriter.VerifyVersionsByTime(
            [Order("o-1", Ten.AddMinutes(12))], Histories([north, south], new() { ["o-1"] = 1 })));
    }

    [Fact]
    public void Overlapping_versions_are_refused_since_the_facts_join_would_store_an_order_twice()
    {
        var north = Version(1, Ten, Ten.AddMinutes(15));
        var south = Version(2, Ten.AddMinutes(10), null);

        Assert.Throws<InvalidOperationException>(() => StarSchemaWriter.VerifyVersionsByTime(
            [Order("o-1", Ten.AddMinutes(5))], Histories([north, south], new() { ["o-1"] = 1 })));
    }

    private static CustomerVersion Version(long sk, DateTime from, DateTime? to) =>
        new(sk, "C1", "Ann", sk == 1 ? "North" : "South", from, to, to ?? from.AddHours(1), 1);

    private static IncomingOrder Order(string id, DateTime at) =>
        new(new ParsedOrder(id, at, "C1", "Ann", "North", "p-1", "Lamp", "Home", 2.5m, 1), "digest", new SourcePosition("orders", 0, 0), default);

    private static Dictionary<string, (IReadOnlyList<CustomerVersion> Stored, CustomerHistoryChange Change)> Histories(
        CustomerVersion[] changed, Dictionary<string, long> chosen) =>
        new(StringComparer.Ordinal) { ["C1"] = ([], new CustomerHistoryChange(changed, changed, [], chosen, false)) };
}
