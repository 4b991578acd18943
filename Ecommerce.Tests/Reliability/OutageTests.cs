using System.Globalization;
using System.Text.Json;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Testing;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Reliability;

/// <summary>The broker or the warehouse goes away for a while; nothing is lost, nothing is written twice.</summary>
public sealed class OutageTests : PipelineTest
{
    private ServiceProcess StartConsumer(string warehousePath) =>
        StartConsumer(warehousePath: warehousePath, settings: ("Ingestion__MaxBatchSize", "1000"));

    private ServiceProcess StartSimulator(long count, double rate) =>
        StartSimulator(count, rate, ("Simulator__Seed", "31"), ("Simulator__Customers", "2000"));

    private static async Task<long> CountOrdersAsync(string warehousePath)
    {
        await using var warehouse = new DuckDbWarehouseProvider($"Data Source={warehousePath}");
        var rows = await warehouse.QueryAsync(new SqlStatement("SELECT COUNT(*), COUNT(DISTINCT ORDER_ID) FROM FACT_ORDERS"), CancellationToken.None);
        Assert.Equal(rows[0][0], rows[0][1]);
        return Convert.ToInt64(rows[0][0], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task The_broker_going_down_during_production_and_consumption_loses_nothing()
    {
        const int count = 20_000;
        var warehouse = WarehousePath;
        await using var consumer = StartConsumer(warehouse);
        await consumer.WaitUntilHealthyAsync(Patience);

        await using var simulator = StartSimulator(count, rate: 2_500);
        await simulator.WaitForStatusAsync("/api/simulator/status", s => s.GetProperty("sent").GetInt64() >= 5_000, Patience, "5,000 orders sent");
        Kafka.Broker.TakeDown();
        await Task.Delay(TimeSpan.FromSeconds(5));
        Kafka.Broker.BringUp();

        using (var timeout = new CancellationTokenSource(Patience))
        {
            await simulator.WaitForExitAsync(timeout.Token);
        }

        Assert.Equal(0, simulator.ExitCode);
        Assert.Contains($"Simulator finished: {count} sent, {count} delivered, 0 failed", simulator.Output, StringComparison.Ordinal);

        // The idempotent producer may still land a retried batch twice; ingestion must absorb that.
        var status = await consumer.WaitForStatusAsync("/api/ingestion/status",
            s => s.GetProperty("ingested").GetInt64() >= count, Patience, "every order ingested");
        Assert.Equal(count, status.GetProperty("ingested").GetInt64());
        await consumer.StopAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(count, await CountOrdersAsync(warehouse));
    }

    [RootFact]
    public async Task A_full_disk_under_the_warehouse_pauses_ingestion_reports_degraded_and_it_catches_up_when_space_returns()
    {
        const int count = 40_000;
        using var disk = new SmallDisk(megabytes: 3);
        var warehouse = Path.Combine(disk.Path, "warehouse.duckdb");
        await using var consumer = StartConsumer(warehouse);
        await consumer.WaitUntilHealthyAsync(Patience);

        await using (var simulator = StartSimulator(count, rate: 0))
        {
            using var timeout = new CancellationTokenSource(Patience);
            await simulator.WaitForExitAsync(timeout.Token);
        }

        var degraded = await consumer.WaitForStatusAsync("/api/ingestion/status",
            s => s.GetProperty("state").GetString() == "degraded", Patience, "the warehouse to fill up");
        Assert.True(degraded.GetProperty("ingested").GetInt64() < count);
        var health = await consumer.Http.GetAsync(new Uri("/health", UriKind.Relative));
        var report = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Degraded", report.GetProperty("checks").GetProperty("ingestion").GetProperty("status").GetString());

        disk.Resize(megabytes: 256);

        await consumer.WaitForStatusAsync("/api/ingestion/status",
            s => s.GetProperty("ingested").GetInt64() >= count && s.GetProperty("state").GetString() == "running", Patience, "catching up");
        await consumer.StopAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(count, await CountOrdersAsync(warehouse));
    }
}
