using System.Globalization;
using Ecommerce.Hosting.Kafka;
using Ecommerce.Testing;
using Ecommerce.Testing.Snowflake;

namespace Ecommerce.Benchmarks.Scenarios;

/// <summary>Ingest into Snowflake at a given cost per statement, with one or more consumer processes.</summary>
public sealed record SnowflakeResult(
    double StatementLatencyMs, int Consumers, int Orders, double Rate, double? RequestsPerThousand, double? KilobytesPerThousand,
    double? P50Ms, double? P99Ms)
{
    /// <summary>Where a batch's time went, from the double's record of what it ran (throughput runs only).</summary>
    public string? Timeline { get; init; }

    /// <summary>The write path (Ingestion:WritePath) of the run: Direct or Landed.</summary>
    public string Path { get; init; } = "Direct";

    /// <summary>Stored FACT_ORDERS rows and distinct order ids at the end (throughput runs of the scale-out scenario).</summary>
    public long? Stored { get; init; }

    public long? DistinctStored { get; init; }

    /// <summary>
    /// Orders per second from the first committed batch (or modelling cycle) to the last, the first one's orders left
    /// out: the rate once the pipeline is full, without its start or its fill time.
    /// </summary>
    public double? CommitRate { get; init; }

    /// <summary>
    /// Orders per second while the backlog is worked through at full speed: from the commit that took the stored orders
    /// past a tenth of the backlog to the one that took them past nine tenths. It leaves out the start (the first cycles
    /// or batches, taken before much has arrived) and the tail (a last cycle of stragglers costs a whole transaction),
    /// which weigh on <see cref="CommitRate"/> whatever the backlog's size.
    /// </summary>
    public double? SustainedRate { get; init; }

    /// <summary>Topic partitions of the run (the scale-out runs use more, so that a larger backlog fits the embedded broker).</summary>
    public int? Partitions { get; init; }

    /// <summary>CPU seconds per 1,000 stored orders, over the measured window: of the ingestion processes together.</summary>
    public double? ConsumerCpuPerThousand { get; init; }

    /// <summary>...and of the benchmark's own process, which runs the SQL API double (its one database) and the broker.</summary>
    public double? DoubleCpuPerThousand { get; init; }

    /// <summary>The CPU all of them used over the window, as a share of the machine's cores: near 1, the machine is the limit.</summary>
    public double? MachineBusy { get; init; }

    /// <summary>The largest peak resident memory of one ingestion process.</summary>
    public double? PeakMemoryMb { get; init; }
}

/// <summary>
/// The ingestion service writing to Snowflake through the SQL API test double, which adds a fixed time to every
/// statement (<see cref="SnowflakeSqlApiDouble.StatementLatency"/>): a few hundred milliseconds is what a small
/// statement costs on a real warehouse, and what an in-memory database hides. Throughput is measured from the first
/// order sent, once every process holds partitions, to the last one stored; end-to-end latency at a steady 1,000 orders/s (the first two seconds left out).
/// </summary>
public static class SnowflakeAtLatency
{
    /// <summary>The double's cap on statements at once (<c>--warehouse-concurrency</c>; none by default).</summary>
    public static int? WarehouseConcurrency { get; set; }

    public static async Task<SnowflakeResult> ThroughputAsync(
        BenchContext context, TimeSpan statementLatency, int consumers, int orders, string path = "Direct", int partitions = BenchContext.Partitions)
    {
        await using var broker = BenchContext.StartBroker(partitions);
        await using var snowflake = await SnowflakeSqlApiDouble.StartAsync();
        snowflake.StatementLatency = statementLatency;
        snowflake.WarehouseConcurrency = WarehouseConcurrency;
        var processes = Enumerable.Range(0, consumers).Select(i => StartConsumer(context, broker, snowflake, i, path)).ToList();
        try
        {
            // Every process is started and the group has shared out all partitions before the first order is sent: a
            // process that joined first cannot ingest ahead of the clock. The clock runs from the simulator's start (it
            // sends the orders as fast as the broker takes them, a few seconds) until the last order is stored.
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (true)
            {
                var owned = new List<int>();
                foreach (var process in processes)
                {
                    await process.WaitUntilHealthyAsync(TimeSpan.FromMinutes(2));
                    owned.Add(await BenchContext.PartitionsOwnedAsync(process));
                }

                if (owned.All(n => n > 0) && owned.Sum() == partitions)
                {
                    break;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"the group did not share out its partitions among {consumers} processes: {string.Join(", ", owned)}");
                }

                await Task.Delay(250);
            }

            await Task.Delay(TimeSpan.FromSeconds(2)); // No rebalance is still on its way.
            var windowStart = snowflake.Now;
            var requestsBefore = snowflake.Requests.Count;
            var bytesBefore = snowflake.Requests.Sum(r => (long)r.BodyBytes);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var cpuBefore = (Consumers: processes.Sum(p => BenchContext.Resources(p.Id).CpuSeconds), Bench: BenchProcessCpuSeconds());
            var commits = new List<(TimeSpan At, long Ingested)>(); // A sample each time the stored count grew.
            var filling = BenchContext.FillAsync(broker, orders);
            // At least 15 minutes, and 1,000 orders/s of the backlog: a million orders at 1,000 ms per statement take about
            // seven minutes on the Direct path.
            var allowed = TimeSpan.FromSeconds(Math.Max(15 * 60, orders / 1_000));
            deadline = DateTime.UtcNow + allowed;
            while (true)
            {
                var ingested = 0L;
                foreach (var process in processes)
                {
                    ingested += await BenchContext.IngestedAsync(process);
                }

                if (commits.Count == 0 || ingested > commits[^1].Ingested)
                {
                    commits.Add((clock.Elapsed, ingested));
                }

                if (ingested >= orders)
                {
                    var elapsed = clock.Elapsed;
                    var resources = processes.Select(p => BenchContext.Resources(p.Id)).ToArray();
                    var consumerCpu = resources.Sum(r => r.CpuSeconds) - cpuBefore.Consumers;
                    var benchCpu = BenchProcessCpuSeconds() - cpuBefore.Bench;
                    var peak = resources.Max(r => r.PeakMegabytes);
                    await filling;
                    var requests = snowflake.Requests;
                    var stored = await snowflake.QueryAsync("SELECT COUNT(*), COUNT(DISTINCT ORDER_ID) FROM FACT_ORDERS");
                    var window = snowflake.Runs.Where(r => r.Started >= windowStart).ToArray();
                    var timeline = Timeline(window, snowflake.Now - windowStart);
                    var cycles = path == "Landed" ? await CyclesAsync(snowflake) : [];
                    if (path == "Landed")
                    {
                        timeline += " " + CyclesLine(cycles, window);
                    }

                    if (LogsDirectory is { } logs)
                    {
                        await WriteRunLogAsync(logs, window, windowStart, cycles);
                    }

                    return new SnowflakeResult(statementLatency.TotalMilliseconds, consumers, orders, ingested / elapsed.TotalSeconds,
                        (requests.Count - requestsBefore) * 1_000.0 / ingested, (requests.Sum(r => (long)r.BodyBytes) - bytesBefore) / 1_024.0 * 1_000 / ingested,
                        null, null)
                    {
                        Timeline = timeline,
                        Path = path,
                        Stored = Convert.ToInt64(stored[0][0], CultureInfo.InvariantCulture),
                        DistinctStored = Convert.ToInt64(stored[0][1], CultureInfo.InvariantCulture),
                        CommitRate = commits.FirstOrDefault(c => c.Ingested > 0) is var first && elapsed > first.At ? (ingested - first.Ingested) / (elapsed - first.At).TotalSeconds : null,
                        SustainedRate = Sustained(commits, orders),
                        Partitions = partitions,
                        ConsumerCpuPerThousand = consumerCpu * 1_000 / ingested,
                        DoubleCpuPerThousand = benchCpu * 1_000 / ingested,
                        MachineBusy = (consumerCpu + benchCpu) / (elapsed.TotalSeconds * Environment.ProcessorCount),
                        PeakMemoryMb = peak,
                    };
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"{ingested} of {orders} orders ingested into Snowflake in {allowed.TotalMinutes:N0} minutes:\n{processes[0].Output}");
                }

                await Task.Delay(100);
            }
        }
        finally
        {
            foreach (var process in processes)
            {
                if (LogsDirectory is { } logs)
                {
                    File.WriteAllText(Path.Combine(logs, $"consumer-{processes.IndexOf(process)}.log"), process.Output);
                }

                await process.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// End-to-end latency at a steady rate: from the time the simulator stamps on an order (it sends it then) to the
    /// first time a query of FACT_ORDERS finds it, polled every 100 ms, as the analytics API would count it. (The
    /// order's INGESTED_AT is stamped before its transaction runs, a few statements before its commit, so it is not
    /// used.) Left out: the first two seconds, and every order sent before the first batch committed, which waited for
    /// the service's start (the schema, the first reads, the JIT): about 8 s at 200 ms per statement, a tenth of a 60 s
    /// run and so all of its 99th percentile, which is to say the start-up and not the steady rate.
    /// </summary>
    public static async Task<SnowflakeResult> LatencyAsync(BenchContext context, TimeSpan statementLatency, double rate, TimeSpan duration, string path = "Direct")
    {
        await using var broker = BenchContext.StartBroker();
        await using var snowflake = await SnowflakeSqlApiDouble.StartAsync();
        snowflake.StatementLatency = statementLatency;
        snowflake.WarehouseConcurrency = WarehouseConcurrency;
        var count = (long)(rate * duration.TotalSeconds);
        var seen = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        using var stop = new CancellationTokenSource();
        var polling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var rows = await snowflake.QueryAsync("SELECT ORDER_ID FROM FACT_ORDERS");
                    var now = DateTime.UtcNow;
                    foreach (var row in rows)
                    {
                        seen.TryAdd((string)row[0]!, now);
                    }
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // The table is not there yet.
                }

                await Task.Delay(100);
            }
        });
        var logs = LogsDirectory;
        await using (var consumer = StartConsumer(context, broker, snowflake, 0, path))
        {
            await BenchContext.IngestAtRateAsync(broker, consumer, count, rate, TimeSpan.FromMinutes(10));
            if (logs is not null)
            {
                await File.WriteAllTextAsync(Path.Combine(logs, "consumer-latency.log"), consumer.Output);
            }
        }

        await Task.Delay(300);
        await stop.CancelAsync();
        await polling;
        var stamped = (await snowflake.QueryAsync("SELECT ORDER_ID, ORDER_TIMESTAMP FROM FACT_ORDERS"))
            .Select(r => ((string)r[0]!, (DateTime)r[1]!)).ToArray();
        var firstCommitSeen = seen.Values.Min();
        var steadyFrom = new[] { stamped.Min(o => o.Item2) + TimeSpan.FromSeconds(2), firstCommitSeen }.Max();
        var latencies = stamped.Where(o => o.Item2 >= steadyFrom && seen.ContainsKey(o.Item1))
            .Select(o => (seen[o.Item1] - o.Item2).TotalMilliseconds).Order().ToArray();
        if (logs is not null)
        {
            await WriteRunLogAsync(logs, snowflake.Runs, TimeSpan.Zero, path == "Landed" ? await CyclesAsync(snowflake) : []);
        }

        return new SnowflakeResult(statementLatency.TotalMilliseconds, 1, (int)count, rate, null, null,
            Quantile(latencies, 0.5), Quantile(latencies, 0.99))
        {
            Path = path,
        };
    }

    /// <summary>
    /// The rate between the first sample past a tenth of <paramref name="orders"/> stored and the first past nine tenths
    /// (samples every 100 ms, each taken when the count grew), or null when both are the same sample.
    /// </summary>
    private static double? Sustained(List<(TimeSpan At, long Ingested)> commits, int orders)
    {
        var from = commits.FirstOrDefault(c => c.Ingested >= Math.Max(1, orders / 10));
        var to = commits.FirstOrDefault(c => c.Ingested >= orders * 9L / 10);
        return to.At > from.At ? (to.Ingested - from.Ingested) / (to.At - from.At).TotalSeconds : null;
    }

    /// <summary>ECOMMERCE_BENCH_LOGS: where the consumers' logs and the run logs go, if set.</summary>
    private static string? LogsDirectory => Environment.GetEnvironmentVariable("ECOMMERCE_BENCH_LOGS") is { Length: > 0 } directory ? directory : null;

    /// <summary>A Landed run's modelling cycles in order: their id, time, landed rows taken and new orders among them.</summary>
    private static async Task<IReadOnlyList<object?[]>> CyclesAsync(SnowflakeSqlApiDouble snowflake) =>
        await snowflake.QueryAsync(
            "SELECT MODEL_BATCH, MIN(MODELLED_AT), COUNT(*), COUNT(CASE WHEN OUTCOME = 'NEW' THEN 1 END) FROM LANDED_OUTCOMES GROUP BY MODEL_BATCH ORDER BY 2");

    /// <summary>
    /// The modelling cycles of a Landed run in order: how many landed rows each took and how long its transaction ran.
    /// A cycle costs about the same whatever it holds, so their number and sizes say how much of the run the modeller
    /// spent on small ones (the first cycles start before most of the backlog has landed).
    /// </summary>
    private static string CyclesLine(IReadOnlyList<object?[]> cycles, IReadOnlyList<StatementRun> window)
    {
        var sizes = cycles.Select(c => Convert.ToInt64(c[2], CultureInfo.InvariantCulture).ToString("N0", CultureInfo.InvariantCulture));
        var transactions = window.Where(r => r.Kind == "transaction" && r.Succeeded).OrderBy(r => r.Started)
            .Select(r => (r.Finished - r.Started).TotalSeconds.ToString("F1", CultureInfo.InvariantCulture));
        return $"Modelling cycles of {string.Join(", ", sizes)} landed orders; their transactions took {string.Join(", ", transactions)} s.";
    }

    /// <summary>
    /// With ECOMMERCE_BENCH_LOGS set: every request the double ran in the window but the staged rows' clean-up (when it
    /// started and finished, and how its first statement opens), and on the Landed path every modelling cycle's size, as
    /// tab-separated files beside the consumers' logs.
    /// </summary>
    private static async Task WriteRunLogAsync(string directory, IReadOnlyList<StatementRun> window, TimeSpan windowStart, IReadOnlyList<object?[]> cycles)
    {
        var lines = window.Where(r => r.Kind != "cleanup")
            .OrderBy(r => r.Started)
            .Select(r => string.Create(CultureInfo.InvariantCulture,
                $"{(r.Started - windowStart).TotalSeconds:F2}\t{(r.Finished - windowStart).TotalSeconds:F2}\t{r.Kind}\t{r.Statements}\t{r.Succeeded}\t{r.QueryTag}\t{r.Opening}"));
        await File.WriteAllLinesAsync(Path.Combine(directory, "runs.tsv"), ["started\tfinished\tkind\tstatements\tsucceeded\ttag\topening", .. lines]);
        if (cycles.Count > 0)
        {
            await File.WriteAllLinesAsync(Path.Combine(directory, "cycles.tsv"),
                ["model_batch\tmodelled_at\trows\tnew", .. cycles.Select(c => string.Join('\t', c.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))))]);
        }
    }

    private static double BenchProcessCpuSeconds()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }

    private static double Quantile(double[] sorted, double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    /// <summary>
    /// Per batch (one batch transaction each): the submissions of each kind, their statements, and their mean time in
    /// Snowflake's latency, on the double's database and waiting for a table's lock (a transaction's first); and how much
    /// of the window transactions held their locks (from the first to the commit), which is what bounds throughput when
    /// batches take turns.
    /// </summary>
    private static string Timeline(IReadOnlyList<StatementRun> runs, TimeSpan window)
    {
        var batches = Math.Max(1, runs.Count(r => r.Kind == "transaction" && r.Succeeded));
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{batches} batch transactions in {window.TotalSeconds:F1} s; per batch:");
        foreach (var kind in runs.GroupBy(r => r.Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var lockWait = kind.Key == "transaction"
                ? string.Create(CultureInfo.InvariantCulture, $", lock wait {kind.Average(r => r.LockWait.TotalMilliseconds):F0} ms")
                : "";
            text.Append(CultureInfo.InvariantCulture,
                $" {kind.Key} {kind.Count() / (double)batches:F1} requests x {kind.Average(r => r.Statements):F1} statements " +
                $"(latency {kind.Average(r => r.Latency.TotalMilliseconds):F0} ms, database {kind.Average(r => (r.Execution - r.DatabaseWait).TotalMilliseconds):F0} ms + {kind.Average(r => r.DatabaseWait.TotalMilliseconds):F0} ms queued{lockWait});");
        }

        var held = runs.Where(r => r.Kind == "transaction").Sum(r => (r.Latency + r.Execution).TotalSeconds);
        var database = runs.Sum(r => (r.Execution - r.DatabaseWait).TotalSeconds);
        text.Append(CultureInfo.InvariantCulture, $" transactions held their locks {held / window.TotalSeconds:P0} of the time; the double's database at work {database / window.TotalSeconds:P0} (single INSERTs run beside the rest, so it may pass 100 %).");
        return text.ToString();
    }

    internal static ServiceProcess StartConsumer(BenchContext context, EmbeddedKafkaBroker broker, SnowflakeSqlApiDouble snowflake, int index, string path = "Direct",
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var keyPath = Path.Combine(context.WorkDirectory, "snowflake_rsa_key.p8");
        File.WriteAllText(keyPath, snowflake.PrivateKeyPem);
        return ServiceProcess.Start("Ecommerce.Consumer", new Dictionary<string, string?>(
            snowflake.ConsumerSettings(keyPath).Select(s => KeyValuePair.Create(s.Key, s.Value)).Concat(settings ?? new Dictionary<string, string?>()))
        {
            ["ConnectionStrings__kafka"] = broker.BootstrapServers,
            ["Snowflake__QueryTag"] = $"bench-consumer-{index}",
            ["Ingestion__WritePath"] = path,
            ["Logging__LogLevel__Default"] = LogsDirectory is not null ? "Information" : "Warning",
        });
    }
}
