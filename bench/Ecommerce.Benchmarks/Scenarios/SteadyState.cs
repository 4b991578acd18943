using System.Diagnostics;

namespace Ecommerce.Benchmarks.Scenarios;

/// <summary>CPU per order once the consumer has warmed up, at a rate it keeps up with, and its memory meanwhile.</summary>
public sealed record SteadyStateResult(long Orders, double Rate, double WarmUpSeconds, long MeasuredOrders, double CpuMicrosecondsPerOrder, double PeakMemoryMb);

/// <summary>
/// A long run, as a service lives: the simulator sends <c>orders</c> at a steady rate the consumer keeps up with (the
/// embedded broker keeps only about 5 MiB per partition, so a consumer left far behind would lose orders to retention)
/// while the consumer ingests them into a fresh DuckDB file. The CPU per order is taken over everything after the
/// first <c>warmUp</c> (start-up, and the JIT compiling and re-compiling the hot code, are left out), from /proc.
/// </summary>
public static class SteadyState
{
    public static async Task<SteadyStateResult> RunAsync(BenchContext context, long orders, double rate, TimeSpan warmUp)
    {
        ArgumentNullException.ThrowIfNull(context);
        await using var broker = BenchContext.StartBroker();
        await using var consumer = BenchContext.StartConsumer(broker, context.NewWarehouse());
        await consumer.WaitUntilHealthyAsync(TimeSpan.FromMinutes(2));
        await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("partitions").GetArrayLength() == BenchContext.Partitions,
            TimeSpan.FromMinutes(1), "partitions assigned");

        await using var simulator = BenchContext.StartSimulator(broker, orders, rate);
        var clock = Stopwatch.StartNew();
        await Task.Delay(warmUp);
        var startCount = await BenchContext.IngestedAsync(consumer);
        var startCpu = BenchContext.Resources(consumer.Id).CpuSeconds;
        var startAt = clock.Elapsed;
        var deadline = TimeSpan.FromSeconds(orders / rate) + TimeSpan.FromMinutes(3);
        long ingested;
        while ((ingested = await BenchContext.IngestedAsync(consumer)) < orders)
        {
            if (clock.Elapsed > deadline)
            {
                throw new TimeoutException($"{ingested:N0} of {orders:N0} orders ingested:\n{consumer.Output}");
            }

            await Task.Delay(50);
        }

        var (peak, cpu) = BenchContext.Resources(consumer.Id);
        var measured = ingested - startCount;
        var seconds = (clock.Elapsed - startAt).TotalSeconds;
        await consumer.StopAsync(TimeSpan.FromSeconds(60));
        return new SteadyStateResult(orders, measured / seconds, warmUp.TotalSeconds, measured, (cpu - startCpu) / measured * 1_000_000, peak);
    }
}
