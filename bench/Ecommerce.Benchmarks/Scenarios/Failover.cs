using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Testing;
using Ecommerce.Testing.Snowflake;

namespace Ecommerce.Benchmarks.Scenarios;

/// <summary>One failover: how it was caused, how long no batch was committed, and whether every order landed once.</summary>
public sealed record FailoverResult(string Case, string Protocol, double PauseSeconds, long Delivered, long Stored, long DistinctStored)
{
    /// <summary>Two processes: the longest any of the survivor's own partitions went without a commit, before and after the kill.</summary>
    public double? OwnPauseBeforeSeconds { get; init; }

    public double? OwnPauseAfterSeconds { get; init; }
}

/// <summary>
/// How long ingestion stops when the ingestion service is replaced: one consumer on DuckDB, the simulator sending a
/// steady 1,000 orders/s, the consumer killed (SIGKILL) or stopped (SIGTERM) and started again at once. The pause runs
/// from the kill or stop to the first batch the new process commits (its status counts it), so it includes the new
/// process's start-up. The run ends with the simulator stopped and every order it sent counted in FACT_ORDERS.
/// </summary>
public static class Failover
{
    private const double Rate = 1_000;

    /// <summary>The consumer's settings for a group protocol: <c>Consumer</c> (KIP-848, the default) or <c>Classic</c>.</summary>
    private static Dictionary<string, string?> Protocol(string protocol) =>
        new() { ["Aspire__Confluent__Kafka__Consumer__Config__GroupProtocol"] = protocol };

    /// <remarks>With the service's default session timeout, 6 s (librdkafka's own 45 s gave 90.8 s after a SIGKILL and 45.4 s
    /// after a SIGTERM on 2026-12-03).</remarks>
    public static async Task<FailoverResult> RestartAsync(BenchContext context, bool kill, string protocol)
    {
        ArgumentNullException.ThrowIfNull(context);
        await using var broker = BenchContext.StartBroker();
        var warehouse = context.NewWarehouse();
        var consumer = BenchContext.StartConsumer(broker, warehouse, settings: Protocol(protocol));
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

            replacement = BenchContext.StartConsumer(broker, warehouse, settings: Protocol(protocol));
            await replacement.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("batches").GetInt64() > 0,
                TimeSpan.FromMinutes(3), "a first batch committed by the new process");
            var pause = clock.Elapsed.TotalSeconds;

            // Every order sent lands once: stop the simulator (its summary says how many it delivered), let the new process
            // catch up, stop it, and count.
            await simulator.StopAsync(TimeSpan.FromSeconds(30));
            var delivered = Delivered(simulator.Output);
            await replacement.WaitForStatusAsync("/api/ingestion/status", NoLagLeft, TimeSpan.FromMinutes(2), "no lag left");
            await replacement.StopAsync(TimeSpan.FromSeconds(30));
            await using var provider = new DuckDbWarehouseProvider($"Data Source={warehouse}");
            var rows = await provider.QueryAsync(new SqlStatement("SELECT COUNT(*), COUNT(DISTINCT ORDER_ID) FROM FACT_ORDERS"), CancellationToken.None);
            return new FailoverResult(kill ? "SIGKILL, restart at once" : "SIGTERM, restart at once", protocol, pause, delivered,
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

    /// <summary>
    /// Two processes writing to the Snowflake double (200 ms per statement), the simulator sending 1,000 orders/s; one
    /// process is killed (SIGKILL) and not restarted. The pause runs from the kill until every partition the dead process
    /// held has had a batch committed by the survivor (its status, polled every 100 ms, shows the partition's committed
    /// offset move). Also measured: the longest any of the survivor's own partitions went without a commit in the 20 s
    /// before the kill and in the 20 s after it, which a rebalance that stopped the whole group would lengthen.
    /// </summary>
    public static async Task<FailoverResult> SurvivorAsync(BenchContext context, string protocol)
    {
        ArgumentNullException.ThrowIfNull(context);
        await using var broker = BenchContext.StartBroker();
        await using var snowflake = await SnowflakeSqlApiDouble.StartAsync();
        snowflake.StatementLatency = TimeSpan.FromMilliseconds(200);
        await using var victim = SnowflakeAtLatency.StartConsumer(context, broker, snowflake, 0, settings: Protocol(protocol));
        await using var survivor = SnowflakeAtLatency.StartConsumer(context, broker, snowflake, 1, settings: Protocol(protocol));
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (await BenchContext.PartitionsOwnedAsync(victim) == 0 || await BenchContext.PartitionsOwnedAsync(survivor) == 0
            || await BenchContext.PartitionsOwnedAsync(victim) + await BenchContext.PartitionsOwnedAsync(survivor) != BenchContext.Partitions)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the two processes did not share the partitions:\n{victim.Output}\n{survivor.Output}");
            }

            await Task.Delay(250);
        }

        await using var simulator = BenchContext.StartSimulator(broker, 0, Rate);
        var clock = Stopwatch.StartNew();
        var commits = new Dictionary<int, List<(double At, long Committed)>>(); // The survivor's commits as its status showed them.
        async Task Poll(Func<bool> until)
        {
            while (!until())
            {
                var now = clock.Elapsed.TotalSeconds;
                foreach (var partition in (await survivor.GetJsonAsync("/api/ingestion/status")).GetProperty("partitions").EnumerateArray())
                {
                    if (partition.GetProperty("committedOffset").ValueKind != System.Text.Json.JsonValueKind.Number)
                    {
                        continue;
                    }

                    var number = partition.GetProperty("partition").GetInt32();
                    var committed = partition.GetProperty("committedOffset").GetInt64();
                    if (!commits.TryGetValue(number, out var seen))
                    {
                        commits[number] = seen = [];
                    }

                    if (seen.Count == 0 || seen[^1].Committed != committed)
                    {
                        seen.Add((now, committed));
                    }
                }

                await Task.Delay(100);
            }
        }

        await Poll(() => clock.Elapsed > TimeSpan.FromSeconds(25)); // Steady state, and 20 s of it to compare with.
        var own = commits.Keys.ToHashSet();
        var victims = Enumerable.Range(0, BenchContext.Partitions).Where(p => !own.Contains(p)).ToArray();
        var killedAt = clock.Elapsed.TotalSeconds;
        victim.Kill();
        await victim.WaitForExitAsync(CancellationToken.None);
        // Taken over: the survivor has committed a batch for each of the dead process's partitions (a first sighting is the
        // offset it resumes from; a second value is its own commit).
        await Poll(() => (victims.All(p => commits.TryGetValue(p, out var list) && list.Count >= 2) && clock.Elapsed.TotalSeconds > killedAt + 20)
            || clock.Elapsed > TimeSpan.FromMinutes(3));
        if (!victims.All(p => commits.TryGetValue(p, out var list) && list.Count >= 2))
        {
            throw new TimeoutException($"the survivor did not take over partitions {string.Join(", ", victims)}:\n{survivor.Output}");
        }

        var pause = victims.Max(p => commits[p][1].At) - killedAt;
        double LongestOwnGap(double from, double to) => own.Max(p =>
        {
            var times = commits[p].Select(c => c.At).Where(t => t >= from && t <= to).Prepend(from).Append(to).ToArray();
            return times.Zip(times.Skip(1), (a, b) => b - a).Max();
        });

        await simulator.StopAsync(TimeSpan.FromSeconds(30));
        var delivered = Delivered(simulator.Output);
        await survivor.WaitForStatusAsync("/api/ingestion/status", NoLagLeft, TimeSpan.FromMinutes(2), "no lag left");
        await survivor.StopAsync(TimeSpan.FromSeconds(30));
        var rows = await snowflake.QueryAsync("SELECT COUNT(*), COUNT(DISTINCT ORDER_ID) FROM FACT_ORDERS");
        return new FailoverResult("two processes, one SIGKILLed, no restart", protocol, pause, delivered,
            Convert.ToInt64(rows[0][0], CultureInfo.InvariantCulture), Convert.ToInt64(rows[0][1], CultureInfo.InvariantCulture))
        {
            OwnPauseBeforeSeconds = LongestOwnGap(killedAt - 20, killedAt),
            OwnPauseAfterSeconds = LongestOwnGap(killedAt, killedAt + 20),
        };
    }

    /// <summary>Whether a status answer shows every partition held and read to its end.</summary>
    private static bool NoLagLeft(System.Text.Json.JsonElement status) =>
        status.GetProperty("partitions").EnumerateArray().Count(p => p.GetProperty("lag").ValueKind == System.Text.Json.JsonValueKind.Number
            && p.GetProperty("lag").GetInt64() == 0) == BenchContext.Partitions;

    /// <summary>The count of orders the simulator's summary line says were delivered.</summary>
    private static long Delivered(string output)
    {
        var finished = Regex.Match(output, @"Simulator finished: (\d+) sent, (\d+) delivered, 0 failed");
        return finished.Success
            ? long.Parse(finished.Groups[2].Value, CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"The simulator printed no clean summary:\n{output}");
    }
}
