namespace Ecommerce.Benchmarks.Scenarios;

public sealed record ThroughputResult(
    int Orders, double SimulatorRate, double BrokerLimitRate, double PipelineRate, double PeakMemoryMb, double CpuSecondsPerMillion);

/// <summary>
/// The simulator fills a fresh broker as fast as it can (its rate is figure 0); a plain consumer drains those
/// orders doing nothing (the broker limit); then the ingestion service ingests the same orders exactly once into
/// a fresh DuckDB file (the pipeline), with its peak memory and CPU time read from /proc.
/// </summary>
public static class Throughput
{
    public static async Task<ThroughputResult> RunAsync(BenchContext context, int maxBatchSize = 5_000, TimeSpan? maxBatchDelay = null)
    {
        await using var broker = BenchContext.StartBroker();
        var simulatorRate = await BenchContext.FillAsync(broker, context.Orders);
        var brokerLimit = BenchContext.Drain(broker, context.Orders);

        await using var consumer = BenchContext.StartConsumer(broker, context.NewWarehouse(), maxBatchSize, maxBatchDelay);
        var (pipeline, cpu) = await BenchContext.WaitForIngestAsync(consumer, context.Orders, TimeSpan.FromMinutes(5));
        var peak = BenchContext.Resources(consumer.Id).PeakMegabytes;
        await consumer.StopAsync(TimeSpan.FromSeconds(30));
        return new ThroughputResult(context.Orders, simulatorRate, brokerLimit, pipeline, peak, cpu / context.Orders * 1_000_000);
    }
}
