using System.Globalization;
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
        const int count = 30_000;
        var warehouse = WarehousePath;
        var random = new Random(2024);
        ServiceProcess StartIngestion() => StartConsumer(settings: ("Ingestion__MaxBatchSize", "500"));
        await using var simulator = StartSimulator(count, rate: 1_500, ("Simulator__Seed", "77"));

        // While orders stream in (about 20 s), start the consumer, let it make progress, and kill it at a random
        // moment: mid-batch, mid-transaction, mid-commit.
        var kills = 0;
        while (kills < 5 && !simulator.HasExited)
        {
            await using var consumer = StartIngestion();
            await consumer.WaitUntilHealthyAsync(Patience);
            await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("ingested").GetInt64() > 0, Patience, "progress");
            await Task.Delay(random.Next(50, 1_500));
            consumer.Kill();
            kills++;
        }

        using (var timeout = new CancellationTokenSource(Patience))
        {
            await simulator.WaitForExitAsync(timeout.Token);
        }

        Assert.Contains($"Simulator finished: {count} sent, {count} delivered", simulator.Output, StringComparison.Ordinal);
        await using (var last = StartIngestion())
        {
            await last.WaitUntilHealthyAsync(Patience);
            await last.WaitForStatusAsync("/api/ingestion/status",
                s => s.GetProperty("partitions").GetArrayLength() == EmbeddedKafka.Partitions
                    && s.GetProperty("partitions").EnumerateArray().All(p => p.GetProperty("lag").ValueKind == System.Text.Json.JsonValueKind.Number && p.GetProperty("lag").GetInt64() == 0),
                Patience, "no lag left");
            await last.StopAsync(TimeSpan.FromSeconds(30));
        }

        Assert.True(kills >= 3, $"only {kills} kills happened while orders were streaming");
        await using var provider = new DuckDbWarehouseProvider($"Data Source={warehouse}");
        var rows = await provider.QueryAsync(new SqlStatement("SELECT COUNT(*), COUNT(DISTINCT ORDER_ID) FROM FACT_ORDERS"), CancellationToken.None);
        Assert.Equal((long)count, Convert.ToInt64(rows[0][0], CultureInfo.InvariantCulture));
        Assert.Equal((long)count, Convert.ToInt64(rows[0][1], CultureInfo.InvariantCulture));
    }
}
