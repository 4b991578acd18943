using System.Globalization;
using System.Text.RegularExpressions;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Testing;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Reliability;

/// <summary>The ingestion service is killed (SIGKILL) at random moments while orders stream in, and restarted.</summary>
public sealed class CrashTests : PipelineTest
{
    [Fact]
    public async Task Killing_the_consumer_repeatedly_mid_stream_leaves_every_order_exactly_once()
    {
        const int kills = 5;
        var warehouse = WarehousePath;
        var random = new Random(2024);
        ServiceProcess StartIngestion() => StartConsumer(settings: ("Ingestion__MaxBatchSize", "500"));

        // The simulator runs until the last kill, however long the restarts take on a busy machine (each one waits
        // for the group to rebalance): every kill lands while orders stream in.
        await using var simulator = StartSimulator(count: 0, rate: 1_500, ("Simulator__Seed", "77"));

        // Start the consumer, let it make progress, and kill it at a random moment: mid-batch, mid-transaction,
        // mid-commit.
        for (var kill = 0; kill < kills; kill++)
        {
            await using var consumer = StartIngestion();
            await consumer.WaitUntilHealthyAsync(Patience);
            await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("ingested").GetInt64() > 0, Patience, "progress");
            await Task.Delay(random.Next(50, 1_500));
            Assert.False(simulator.HasExited, $"the simulator stopped before kill {kill + 1}:\n{simulator.Output}");
            consumer.Kill();
        }

        await simulator.StopAsync(TimeSpan.FromSeconds(30));
        var finished = Regex.Match(simulator.Output, @"Simulator finished: (\d+) sent, (\d+) delivered, 0 failed, 0 invalid");
        Assert.True(finished.Success, $"no clean summary from the simulator:\n{simulator.Output}");
        var count = long.Parse(finished.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.Equal(finished.Groups[1].Value, finished.Groups[2].Value);

        await using (var last = StartIngestion())
        {
            await last.WaitUntilHealthyAsync(Patience);
            await last.WaitForStatusAsync("/api/ingestion/status", CaughtUp, Patience, "no lag left");
            await last.StopAsync(TimeSpan.FromSeconds(30));
        }

        await using var provider = new DuckDbWarehouseProvider($"Data Source={warehouse}");
        var rows = await provider.QueryAsync(new SqlStatement("SELECT COUNT(*), COUNT(DISTINCT ORDER_ID) FROM FACT_ORDERS"), CancellationToken.None);
        Assert.Equal(count, Convert.ToInt64(rows[0][0], CultureInfo.InvariantCulture));
        Assert.Equal(count, Convert.ToInt64(rows[0][1], CultureInfo.InvariantCulture));
    }
}
