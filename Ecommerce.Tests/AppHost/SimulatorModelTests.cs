using Aspire.Hosting.ApplicationModel;

namespace Ecommerce.Tests.AppHost;

/// <summary>What the AppHost gives the simulator, checked on the application model.</summary>
[Trait("Category", "Fast")]
public sealed class SimulatorModelTests
{
    [Fact]
    public async Task The_store_is_the_same_on_every_start_while_order_ids_are_not()
    {
        await using var builder = await AppModel.BuildAsync("--Kafka:Mode=embedded", "--Kafka:Port=0");

        var environment = await AppModel.EnvironmentAsync(
            builder.Resources.OfType<ProjectResource>().Single(p => p.Name == "producer"),
            key => key.StartsWith("Simulator__", StringComparison.Ordinal));

        // A fixed store seed keeps product names, prices and customers' regions across restarts; with no run seed,
        // every start draws new order ids, which a warehouse already holding the earlier runs' orders needs.
        Assert.Equal("2026", environment["Simulator__StoreSeed"]);
        Assert.DoesNotContain("Simulator__Seed", environment.Keys);
    }

    [Fact]
    public async Task A_first_run_backfills_ninety_days_and_a_later_one_does_not()
    {
        using var directory = new Infrastructure.TempDirectory();
        var warehouse = directory.File("ecommerce.duckdb");

        var first = await SimulatorEnvironmentAsync(warehouse);
        Assert.Equal("90", first["Simulator__BackfillDays"]);
        Assert.Equal("9000", first["Simulator__BackfillCount"]);

        await File.WriteAllBytesAsync(warehouse, []);
        var later = await SimulatorEnvironmentAsync(warehouse);
        Assert.DoesNotContain("Simulator__BackfillDays", later.Keys);
    }

    private static async Task<Dictionary<string, string?>> SimulatorEnvironmentAsync(string warehouse)
    {
        await using var builder = await AppModel.BuildAsync("--Kafka:Mode=embedded", "--Kafka:Port=0", $"--Warehouse:Path={warehouse}");
        return await AppModel.EnvironmentAsync(
            builder.Resources.OfType<ProjectResource>().Single(p => p.Name == "producer"),
            key => key.StartsWith("Simulator__", StringComparison.Ordinal));
    }
}
