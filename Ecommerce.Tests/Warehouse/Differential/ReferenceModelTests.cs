namespace Ecommerce.Tests.Warehouse.Differential;

/// <summary>The answer key itself, on a log small enough to work out by hand.</summary>
[Trait("Category", "Fast")]
public sealed class ReferenceModelTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    private static StreamOrder Order(string id, int hours, string region, string product = "P1", string productName = "Lamp", int quantity = 1) =>
        new(id, T0.AddHours(hours), "C1", "Ada", region, product, productName, "Home", 2.50m, quantity);

    [Fact]
    public void History_follows_time_not_arrival_ties_go_to_the_smallest_order_id_and_redeliveries_and_conflicts_are_told_apart()
    {
        var model = new ReferenceModel(OrderLog.Of(
            [(Order("o-3", 3, "North"), null), (Order("o-1", 1, "North"), null), (Order("o-2", 2, "South", productName: "Lamp 2"), null), (null, "malformed_json")],
            [(Order("o-5", 2, "East"), null), (Order("o-4", 5, "North"), null), (Order("o-4", 5, "North"), null), (Order("o-4", 5, "North", quantity: 9), null)]));

        // Day order: o-1 North @1, o-2 South and o-5 East @2 (o-2 speaks), o-3 North @3, o-4 North @5.
        Assert.Equal(
        [
            ReferenceModel.VersionLine("C1", "Ada", "North", T0.AddHours(1), T0.AddHours(2), false, 1, T0.AddHours(1)),
            ReferenceModel.VersionLine("C1", "Ada", "North", T0.AddHours(3), null, true, 2, T0.AddHours(5)),
            ReferenceModel.VersionLine("C1", "Ada", "South", T0.AddHours(2), T0.AddHours(3), false, 2, T0.AddHours(2)),
        ], model.Versions);
        Assert.Equal(5, model.Facts.Count);
        Assert.Contains(model.Facts, f => f.StartsWith("o-5 ", StringComparison.Ordinal) && f.EndsWith("version Ada / South from 2026-03-01 11:00:00.0000000", StringComparison.Ordinal));
        Assert.Equal([ReferenceModel.ProductLine("P1", "Lamp", "Home")], model.Products);
        Assert.Equal([ReferenceModel.DeadLetterLine(0, 3, "malformed_json"), ReferenceModel.DeadLetterLine(1, 3, "conflict")], model.DeadLetters);
        Assert.Equal([ReferenceModel.OffsetLine(0, 4), ReferenceModel.OffsetLine(1, 4)], model.Offsets);
        Assert.Equal([ReferenceModel.DateLine(new DateOnly(2026, 3, 1))], model.Dates);
    }
}
