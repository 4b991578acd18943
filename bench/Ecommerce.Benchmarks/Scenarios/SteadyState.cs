using System.Diagnostics;

namespace Ecommerce.Benchmarks.Scenarios;

/// <summary>CPU per order once the consumer has warmed up, at a rate it keeps up with, and its memory meanwhile.</summary>
public sealed record SteadyStateResult(long Orders, double Rate, double WarmUpSeconds, long MeasuredOrders, double CpuMicrosecondsPerOrder, double PeakMemoryMb)
{
    /// <summary>CPU microseconds per order by what the consumer's threads do (SteadyState.ThreadGroup), over the same window.</summary>
    public IReadOnlyDictionary<string, double> CpuMicrosecondsPerOrderByWork { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// CPU microseconds per order by stage of the work (read, parse and validate, classify, history, write, commit), as the
    /// consumer counts them itself (<c>CpuByStage</c>: a batch's stages by their thread's CPU clock, the consume loop's CPU
    /// shared out between reading and parsing), over the same window; empty where it cannot (not Linux) and in results saved before it was measured.
    /// </summary>
    public IReadOnlyDictionary<string, double> CpuMicrosecondsPerOrderByStage { get; init; } = new Dictionary<string, double>();

    /// <summary>Bytes the consumer allocated per order over the window (the GC's work grows with it).</summary>
    public double AllocatedBytesPerOrder { get; init; }

    /// <summary>
    /// Orders per written batch over the window (0 in results saved before it was measured). At a fixed rate a batch
    /// holds what arrived while the one before was written, so a faster write path makes smaller batches, and a batch's
    /// fixed costs (its commit, each statement) weigh on fewer orders: compare CPU per order at like batch sizes.
    /// </summary>
    public double OrdersPerBatch { get; init; }

    /// <summary>
    /// The bytes allocated per order over the window by type, the largest first: <see cref="AllocatedBytesPerOrder"/>
    /// shared out as the runtime's allocation ticks fell (a sample; empty in results saved before it was measured).
    /// </summary>
    public IReadOnlyList<TypeAllocation> AllocatedBytesPerOrderByType { get; init; } = [];
}

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
        var startThreads = CpuByThread(consumer.Id);
        // One status for the three counts, so that they are of one moment.
        var startStatus = await consumer.GetJsonAsync("/api/ingestion/status");
        var startAllocated = AllocatedBytes(startStatus);
        var startBatches = Batches(startStatus);
        var startStages = CpuSecondsByStage(startStatus);
        await using var sampler = AllocationSampler.TryStart(consumer.Id);
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
        var endThreads = CpuByThread(consumer.Id);
        var endStatus = await consumer.GetJsonAsync("/api/ingestion/status");
        var allocated = AllocatedBytes(endStatus) - startAllocated;
        var batches = Batches(endStatus) - startBatches;
        var endStages = CpuSecondsByStage(endStatus);
        var shares = sampler is null ? [] : await sampler.StopAsync();
        var measured = ingested - startCount;
        var seconds = (clock.Elapsed - startAt).TotalSeconds;
        await consumer.StopAsync(TimeSpan.FromSeconds(60));
        return new SteadyStateResult(orders, measured / seconds, warmUp.TotalSeconds, measured, (cpu - startCpu) / measured * 1_000_000, peak)
        {
            CpuMicrosecondsPerOrderByWork = ByWork(startThreads, endThreads, cpu - startCpu, measured),
            CpuMicrosecondsPerOrderByStage = endStages.ToDictionary(
                s => s.Key, s => (s.Value - startStages.GetValueOrDefault(s.Key)) / measured * 1_000_000, StringComparer.Ordinal),
            AllocatedBytesPerOrder = (double)allocated / measured,
            OrdersPerBatch = batches > 0 ? (double)measured / batches : 0,
            AllocatedBytesPerOrderByType = shares.Take(15).Select(s => new TypeAllocation(s.Type, s.Share * allocated / measured)).ToArray(),
        };
    }

    private static long AllocatedBytes(System.Text.Json.JsonElement status) => status.GetProperty("allocatedBytes").GetInt64();

    private static long Batches(System.Text.Json.JsonElement status) => status.GetProperty("batches").GetInt64();

    /// <summary>The consumer's CPU seconds so far by stage, from its status (none where it does not count them).</summary>
    private static Dictionary<string, double> CpuSecondsByStage(System.Text.Json.JsonElement status) =>
        status.TryGetProperty("cpuSecondsByStage", out var stages) && stages.ValueKind == System.Text.Json.JsonValueKind.Object
            ? stages.EnumerateObject().ToDictionary(s => s.Name, s => s.Value.GetDouble(), StringComparer.Ordinal)
            : [];

    /// <summary>
    /// What a thread of the consumer does, from its name (Linux keeps 15 characters): the consume loop reads, parses and
    /// validates; the thread pool plans and writes batches, with the DuckDB calls they make; DuckDB's own worker threads
    /// have no name of their own and keep the one of the thread that created them, the process's main thread ("dotnet"),
    /// which itself only waits for the host to stop.
    /// </summary>
    private static string ThreadGroup(string name) => name switch
    {
        _ when name.StartsWith("ingest-read", StringComparison.Ordinal) => "read, parse and validate (the consume loop)",
        ".NET TP Worker" => "plan and write (the thread pool, and the DuckDB calls it makes)",
        "dotnet" => "DuckDB's worker threads (named after the main thread)",
        _ when name.StartsWith("rdk:", StringComparison.Ordinal) => "Kafka client (librdkafka)",
        _ when name.StartsWith(".NET BGC", StringComparison.Ordinal) || name.StartsWith(".NET GC", StringComparison.Ordinal) || name.StartsWith(".NET Server GC", StringComparison.Ordinal) => "garbage collection",
        _ when name.StartsWith(".NET Tiered", StringComparison.Ordinal) => "JIT tiering",
        _ => $"other ({name})",
    };

    /// <summary>CPU seconds so far of the live threads of process <paramref name="pid"/>, by <see cref="ThreadGroup"/>, from /proc.</summary>
    private static Dictionary<string, (string Group, double Seconds)> CpuByThread(int pid)
    {
        var threads = new Dictionary<string, (string, double)>(StringComparer.Ordinal);
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                threads[Path.GetFileName(task)] = (ThreadGroup(File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n')),
                    BenchContext.CpuSeconds(Path.Combine(task, "stat")));
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return threads;
    }

    /// <summary>
    /// CPU microseconds per order by <see cref="ThreadGroup"/> over the window, thread by thread (a thread born in it counts
    /// whole), and what threads that ended within it used (the process's total less the live threads': the thread pool
    /// retires idle threads, up to a fifth of the total in one run), so that the lines add up to the total.
    /// </summary>
    private static Dictionary<string, double> ByWork(
        Dictionary<string, (string Group, double Seconds)> start, Dictionary<string, (string Group, double Seconds)> end, double processSeconds, long orders)
    {
        var groups = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (tid, (group, seconds)) in end)
        {
            groups[group] = groups.GetValueOrDefault(group) + seconds - (start.TryGetValue(tid, out var before) ? before.Seconds : 0);
        }

        groups[EndedThreads] = processSeconds - groups.Values.Sum();
        return groups.ToDictionary(g => g.Key, g => g.Value / orders * 1_000_000);
    }

    /// <summary>The group of what threads that ended within the window used.</summary>
    public const string EndedThreads = "threads that ended during the window (the thread pool's, mostly)";
}
