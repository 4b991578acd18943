using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Testing;

namespace Ecommerce.Benchmarks.Scenarios;

/// <summary>One failover: how it was caused, how long no batch was committed, and whether every order landed once.</summary>
public sealed record FailoverResult(string Case, double PauseSeconds, long Delivered, long Stored, long DistinctStored);

/// <summary>
/// How long ingestion stops when the ingestion service is replaced: one consumer on DuckDB, the simulator sending a
/// steady 1,000 orders/s, the consumer killed (SIGKILL) or stopped (SIGTERM) and started again at once. The pause runs
/// from the kill or stop to the first batch the new process commits (its status counts it), so it includes the new
/// process's start-up. The run ends with the simulator stopped and every order it sent counted in FACT_ORDERS.
/// </summary>
public static class Failover
{
    private const double Rate = 1_000;

    /// <remarks>With the service's default session timeout, 6 s (librdkafka's own 45 s gave 90.8 s after a SIGKILL and 45.4 s
    /// after a SIGTERM on 2026-12-03).</remarks>
    public static async Task<FailoverResult> RestartAsync(BenchContext context, bool kill)
    {
        ArgumentNullException.ThrowIfNull(context);
        await using var broker = BenchContext.StartBroker();
        var warehouse = context.NewWarehouse();
        var consumer = BenchContext.StartConsumer(broker, warehouse);
        ServiceProcess? replacement = null;
        try
        {
            await consumer.WaitUntilHealthyAsync(TimeSpan.FromMinutes(2));
            await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("partitions").GetArrayLength() == BenchContext.Partitions,
                TimeSpan.FromMinutes(2), "partitions assigned");
            await using var simulator = BenchContext.StartSimulator(broker, 0, Rate);
            await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("ingested").GetInt64() >= 5_000,
                TimeSpan.FromMinutes(2), "5,000 orders ingested");

            var clock = Stopwatch.StartNew();
            if (kill)
            {
                consumer.Kill();
                await consumer.WaitForExitAsync(CancellationToken.None);
            }
            else
            {
                await consumer.StopAsync(TimeSpan.FromSeconds(30));
            }

            replacement = BenchContext.StartConsumer(broker, warehouse);
            await replacement.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("batches").GetInt64() > 0,
                TimeSpan.FromMinutes(3), "a first batch committed by the new process");
            var pause = clock.Elapsed.TotalSeconds;

            // Every order sent lands once: stop the simulator (its summary says how many it delivered), let the new process
            // catch up, stop it, and count.
            await simulator.StopAsync(TimeSpan.FromSeconds(30));
            var delivered = Delivered(simulator.Output);
            await replacement.WaitForStatusAsync("/api/ingestion/status",
                s => s.GetProperty("partitions").EnumerateArray().Count(p => p.GetProperty("lag").ValueKind == System.Text.Json.JsonValueKind.Number
                    && p.GetProperty("lag").GetInt64() == 0) == BenchContext.Partitions,
                TimeSpan.FromMinutes(2), "no lag left");
            await replacement.StopAsync(TimeSpan.FromSeconds(30));
            await using var provider = new DuckDbWarehouseProvider($"Data Source={warehouse}");
            var rows = await provider.QueryAsync(new SqlStatement("SELECT COUNT(*), COUNT(DISTINCT ORDER_ID) FROM FACT_ORDERS"), CancellationToken.None);
            return new FailoverResult(kill ? "SIGKILL, restart at once" : "SIGTERM, restart at once", pause, delivered,
                Convert.ToInt64(rows[0][0], CultureInfo.InvariantCulture), Convert.ToInt64(rows[0][1], CultureInfo.InvariantCulture));
        }
        finally
        {
            await consumer.DisposeAsync();
            if (replacement is not null)
            {
                await replacement.DisposeAsync();
            }
        }
    }

    /// <summary>The count of orders the simulator's summary line says were delivered.</summary>
    private static long Delivered(string output)
    {
        var finished = Regex.Match(output, @"Simulator finished: (\d+) sent, (\d+) delivered, 0 failed");
        return finished.Success
            ? long.Parse(finished.Groups[2].Value, CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"The simulator printed no clean summary:\n{output}");
    }
}
