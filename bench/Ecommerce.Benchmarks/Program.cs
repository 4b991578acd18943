using System.Globalization;
using Ecommerce.Benchmarks;
using Ecommerce.Benchmarks.Scenarios;
using Ecommerce.Testing;
using Spectre.Console;

// One command, every figure: see BENCHMARKS.md. Options: --orders N (default 100000), --quick (smaller runs, kept
// under bench/results only: BENCHMARKS.md shows full runs),
// --only throughput|original|shape|latency|sweep|scale|snowflake (one part, for investigating; BENCHMARKS.md is then left
// alone); --only scaleout (the Snowflake write paths with 1, 2 and 4 processes, saved apart: see --report); --only failover (the pauses when the ingestion service is killed or stopped, with both
// group protocols; saved apart: see --report); --only steady [--rate R] (CPU per order after warm-up, by stage; printed only, and part of a full run); --scale 3000000,30000000 (the sizes of the pre-filled warehouses, cached in ECOMMERCE_BENCH_CACHE or the temp
// folder). ECOMMERCE_BENCH_DUCKDB_OPTIONS is appended to the consumers' DuckDB connection string.
// --report bench/results/<stamp>.json [--scaleout bench/results/scaleout-<stamp>.json] [--failover bench/results/failover-<stamp>.json]
// writes BENCHMARKS.md and the charts again from a run's figures (and a scale-out and a failover run's; the scale-out
// file's table and chart too), measuring nothing.
var reportArg = Array.IndexOf(args, "--report");
if (reportArg >= 0)
{
    var saved = System.Text.Json.JsonSerializer.Deserialize<BenchResults>(File.ReadAllText(args[reportArg + 1]))
        ?? throw new InvalidOperationException($"{args[reportArg + 1]} holds no results.");
    // A run measured apart, named by its flag: --failover <file>, --scaleout <file>.
    T? Apart<T>(string flag) where T : class
    {
        var at = Array.IndexOf(args, flag);
        return at < 0 ? null : System.Text.Json.JsonSerializer.Deserialize<T>(File.ReadAllText(args[at + 1]))
            ?? throw new InvalidOperationException($"{args[at + 1]} holds no results.");
    }

    var scaleOut = Apart<ScaleOutResults>("--scaleout");
    saved = saved with { Failover = Apart<FailoverResults>("--failover") ?? saved.Failover, ScaleOut = scaleOut ?? saved.ScaleOut };
    if (scaleOut is not null)
    {
        // Its table and chart again too: a scale-out file may have been put together from two runs (one per path).
        Report.WriteScaleOut(scaleOut, RepositoryRoot.Find());
    }

    Report.Write(saved, RepositoryRoot.Find(), updatePage: true);
    Console.WriteLine(Report.Markdown(saved));
    return;
}

var quick = args.Contains("--quick");
var onlyArg = Array.IndexOf(args, "--only");
var only = onlyArg >= 0 ? args[onlyArg + 1] : null;
bool Runs(string part) => only is null || only == part;
var ordersArg = Array.IndexOf(args, "--orders");
var orders = ordersArg >= 0 ? int.Parse(args[ordersArg + 1], CultureInfo.InvariantCulture) : quick ? 20_000 : 100_000;
// --snowflake 200x1,500x2,latency: which Snowflake runs (ms per statement x consumer processes; the latency run), for
// investigating.
var snowflakeArg = Array.IndexOf(args, "--snowflake");
var snowflakeLatency = snowflakeArg < 0 || args[snowflakeArg + 1].Split(',').Contains("latency");
(int, int)[] snowflakeRuns = snowflakeArg >= 0
    ? args[snowflakeArg + 1].Split(',').Where(run => run != "latency").Select(run => run.Split('x')).Select(p => (int.Parse(p[0], CultureInfo.InvariantCulture), int.Parse(p[1], CultureInfo.InvariantCulture))).ToArray()
    : [(200, 1), (200, 2), (500, 1), (500, 2)];
// --latency-seconds N: how long each latency run sends at its steady rate (15 s; 5 with --quick; 0: the scale-out runs
// without their latency run, for investigating).
var latencySecondsArg = Array.IndexOf(args, "--latency-seconds");
var latencySeconds = TimeSpan.FromSeconds(latencySecondsArg >= 0 ? int.Parse(args[latencySecondsArg + 1], CultureInfo.InvariantCulture) : quick ? 5 : 15);
if (latencySeconds < TimeSpan.Zero || (latencySeconds == TimeSpan.Zero && only != "scaleout"))
{
    Console.Error.WriteLine("--latency-seconds: expected a positive number of seconds (0 only with --only scaleout, to leave its latency run out).");
    Environment.ExitCode = 2;
    return;
}

// --scaleout 200x1,1000x4: which runs of --only scaleout (ms per statement x consumer processes), on both write paths
// unless --path names one. --backlog N: the orders each run ingests, enough that several batches or modelling cycles fit
// between the first commit and the last (1,000,000 by default: several full modelling cycles, so that the sustained rate is
// measured over more than the start and the tail).
var scaleOutArg = Array.IndexOf(args, "--scaleout");
var backlogArg = Array.IndexOf(args, "--backlog");
var scaleOutBacklog = backlogArg >= 0 ? int.Parse(args[backlogArg + 1], CultureInfo.InvariantCulture) : quick ? 20_000 : 1_000_000;
// The scale-out runs' topic partitions: at least 48, and at most 7,500 orders of the backlog in each (about 2.6 MiB, half
// of what the embedded broker retains of a partition), so a long backlog is never cut by retention before it is read.
var scaleOutPartitions = Math.Max(48, (scaleOutBacklog + 7_499) / 7_500);
(int, int)[] scaleOutRuns = scaleOutArg >= 0 && onlyArg >= 0
    ? args[scaleOutArg + 1].Split(',').Select(run => run.Split('x')).Select(p => (int.Parse(p[0], CultureInfo.InvariantCulture), int.Parse(p[1], CultureInfo.InvariantCulture))).ToArray()
    : [(200, 1), (200, 2), (200, 4), (1_000, 1), (1_000, 2), (1_000, 4)];
// --path Direct|Landed: the write path of the --only snowflake runs (Direct by default), and the only one of --only scaleout.
var pathArg = Array.IndexOf(args, "--path");
var writePath = pathArg >= 0 ? args[pathArg + 1] : "Direct";
// --warehouse-concurrency N: the SQL API double runs at most N statements at once, the others queue (Snowflake's
// MAX_CONCURRENCY_LEVEL, 8 by default, read as a strict cap); none unless given.
var concurrencyArg = Array.IndexOf(args, "--warehouse-concurrency");
SnowflakeAtLatency.WarehouseConcurrency = concurrencyArg >= 0 ? int.Parse(args[concurrencyArg + 1], CultureInfo.InvariantCulture) : null;
var scaleArg = Array.IndexOf(args, "--scale");
long[] scaleSizes = scaleArg >= 0
    ? args[scaleArg + 1].Split(',').Select(n => long.Parse(n, CultureInfo.InvariantCulture)).ToArray()
    : quick ? [500_000] : [3_000_000, 30_000_000];

var root = RepositoryRoot.Find();
var work = Path.Combine(Path.GetTempPath(), "ecommerce-bench", Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(work);
var context = new BenchContext(work, orders);

try
{
    ThroughputResult throughput = null!;
    double original = 0;
    ThroughputResult? shape = null;
    var latencies = new List<LatencyResult>();
    var sweep = new List<SweepPoint>();
    var scale = new List<ScaleResult>();
    var snowflake = new List<SnowflakeResult>();
    var scaleOut = new List<SnowflakeResult>();
    var failover = new List<FailoverResult>();
    SteadyStateResult? steady = null;
    (int Size, TimeSpan Delay)[] settings = quick
        ? [(500, TimeSpan.FromMilliseconds(50)), (5_000, TimeSpan.FromMilliseconds(200))]
        : [(200, TimeSpan.FromMilliseconds(25)), (1_000, TimeSpan.FromMilliseconds(100)), (5_000, TimeSpan.FromMilliseconds(200)), (20_000, TimeSpan.FromMilliseconds(500))];

    await AnsiConsole.Status().StartAsync("Starting", async status =>
    {
        if (Runs("throughput"))
        {
            status.Status($"Throughput: filling, draining and ingesting {orders:N0} orders");
            throughput = await Throughput.RunAsync(context);
            AnsiConsole.MarkupLine($"[green]pipeline[/] {throughput.PipelineRate:N0} orders/s, broker limit {throughput.BrokerLimitRate:N0}/s, " +
                $"simulator {throughput.SimulatorRate:N0}/s, peak {throughput.PeakMemoryMb:N0} MB, {throughput.CpuSecondsPerMillion:N1} CPU s per million");
        }

        if (Runs("original"))
        {
            status.Status("Original design: per-message statements");
            original = OriginalDesign.Run(context.NewWarehouse(), Math.Min(orders, 20_000), TimeSpan.FromSeconds(quick ? 10 : 30));
            AnsiConsole.MarkupLine($"[green]original design[/] {original:N0} orders/s");
        }

        if (Runs("shape"))
        {
            var count = quick ? 30_000 : 120_000;
            status.Status($"Original producer's shape: {count:N0} unkeyed orders at random times, into DuckDB");
            shape = await OriginalProducerShape.RunAsync(context, count);
            AnsiConsole.MarkupLine($"[green]original producer's shape[/] {shape.PipelineRate:N0} orders/s, plain drain {shape.BrokerLimitRate:N0}/s, peak {shape.PeakMemoryMb:N0} MB, {shape.CpuSecondsPerMillion:N1} CPU s per million");
        }

        foreach (var rate in Runs("latency") ? (double[])[1_000, 10_000] : [])
        {
            status.Status($"Latency at {rate:N0} orders/s for {latencySeconds.TotalSeconds} s");
            var latency = await Latency.RunAsync(context, rate, latencySeconds, 5_000, TimeSpan.FromMilliseconds(200));
            latencies.Add(latency);
            AnsiConsole.MarkupLine($"[green]latency at {rate:N0}/s[/] p50 {latency.P50Ms:N0} ms, p99 {latency.P99Ms:N0} ms");
        }

        foreach (var existing in Runs("scale") ? scaleSizes : [])
        {
            status.Status($"Pipeline into a warehouse already holding {existing:N0} orders (built once, then cached)");
            var run = await LargeWarehouse.RunAsync(context, existing);
            scale.Add(run);
            AnsiConsole.MarkupLine($"[green]pipeline into {existing:N0} existing orders[/] {run.PipelineRate:N0} orders/s, peak {run.PeakMemoryMb:N0} MB, " +
                $"{run.CpuSecondsPerMillion:N1} CPU s per million, first batch {run.SecondsToFirstBatch:N1} s after a first start (ids read in {run.StoredIdsLoadSeconds:N1} s), {run.AfterCrash?.SecondsToFirstBatch:N1} s after a crash ({run.AfterCrash?.IdsReadFromFactTable:N0} ids read in {run.AfterCrash?.StoredIdsLoadSeconds:N2} s, peak {run.AfterCrash?.PeakMemoryMb:N0} MB), {run.AfterCleanStop?.SecondsToFirstBatch:N1} s after a clean stop (peak {run.AfterCleanStop?.PeakMemoryMb:N0} MB) (warehouse {(run.PrefillCached ? "copied from the cache" : "built")} in {run.PrefillSeconds:N0} s)");
        }

        foreach (var (latencyMs, consumers) in Runs("snowflake") ? snowflakeRuns : [])
        {
            var count = quick ? 20_000 : 200_000;
            status.Status($"Snowflake at {latencyMs} ms per statement, {consumers} consumer(s): {count:N0} orders");
            var run = await SnowflakeAtLatency.ThroughputAsync(context, TimeSpan.FromMilliseconds(latencyMs), consumers, count, writePath);
            snowflake.Add(run);
            AnsiConsole.MarkupLine($"[green]snowflake {writePath} {latencyMs} ms x {consumers}[/] {run.Rate:N0} orders/s ({run.Stored:N0} stored, {run.DistinctStored:N0} distinct), {run.RequestsPerThousand:N1} requests and {run.KilobytesPerThousand:N0} KB per 1,000 orders");
            AnsiConsole.WriteLine(run.Timeline ?? "");
        }

        // --path restricts the scale-out runs to one write path (both by default).
        foreach (var path in only == "scaleout" ? pathArg >= 0 ? [writePath] : (string[])["Direct", "Landed"] : [])
        {
            var count = scaleOutBacklog;
            foreach (var (latencyMs, consumers) in scaleOutRuns)
            {
                status.Status($"Scale-out: {path}, {latencyMs} ms per statement, {consumers} process(es): {count:N0} orders");
                var run = await SnowflakeAtLatency.ThroughputAsync(context, TimeSpan.FromMilliseconds(latencyMs), consumers, count, path, scaleOutPartitions);
                scaleOut.Add(run);
                AnsiConsole.MarkupLine(
                    $"[green]scale-out {path} {latencyMs} ms x {consumers}[/] {(run.SustainedRate is { } sustained ? $"{sustained:N0}" : "(not measured)")} orders/s sustained (from a tenth of the backlog stored to nine tenths), {run.CommitRate:N0} from the first commit to the last, {run.Rate:N0} from the first send; " +
                    $"{run.Stored:N0} stored ({run.DistinctStored:N0} distinct); CPU per 1,000 orders: consumers {run.ConsumerCpuPerThousand:N2} s, double and broker {run.DoubleCpuPerThousand:N2} s; " +
                    $"machine {run.MachineBusy:P0} busy; peak {run.PeakMemoryMb:N0} MB");
                AnsiConsole.WriteLine(run.Timeline ?? "");
            }

            if (latencySeconds > TimeSpan.Zero)
            {
                status.Status($"Scale-out: {path}, latency at 1,000 orders/s and 200 ms per statement");
                var latency = await SnowflakeAtLatency.LatencyAsync(context, TimeSpan.FromMilliseconds(200), 1_000, latencySeconds, path);
                scaleOut.Add(latency);
                AnsiConsole.MarkupLine($"[green]scale-out {path} latency at 1,000/s[/] p50 {latency.P50Ms:N0} ms, p99 {latency.P99Ms:N0} ms");
            }
        }

        if (only == "steady" || (only is null && !quick))
        {
            // --only steady [--rate R]: CPU per order after warm-up, R orders/s (default 12,000) for --orders (default 1,200,000 here).
            var rateArg = Array.IndexOf(args, "--rate");
            var rate = rateArg >= 0 ? double.Parse(args[rateArg + 1], CultureInfo.InvariantCulture) : 12_000;
            var count = ordersArg >= 0 && only == "steady" ? orders : 1_200_000;
            status.Status($"Steady state: {count:N0} orders at {rate:N0}/s into DuckDB");
            var run = await SteadyState.RunAsync(context, count, rate, TimeSpan.FromSeconds(30));
            steady = run;
            AnsiConsole.MarkupLine(
                $"[green]steady state[/] {run.Orders:N0} orders sent at {rate:N0}/s: after {run.WarmUpSeconds:N0} s of warm-up, {run.MeasuredOrders:N0} orders " +
                $"at {run.Rate:N0}/s took {run.CpuMicrosecondsPerOrder:N1} CPU microseconds each; peak memory {run.PeakMemoryMb:N0} MB; " +
                $"{run.AllocatedBytesPerOrder:N0} bytes allocated per order; {run.OrdersPerBatch:N0} orders per batch");
            foreach (var (work, micros) in run.CpuMicrosecondsPerOrderByWork.OrderByDescending(w => w.Value).Where(w => w.Value >= 0.05))
            {
                AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {micros,6:F1} µs/order  {work}"));
            }

            AnsiConsole.WriteLine("  by stage, as the consumer counts them:");
            foreach (var (stage, micros) in run.CpuMicrosecondsPerOrderByStage)
            {
                AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {micros,6:F1} µs/order  {stage}"));
            }

            AnsiConsole.WriteLine("  allocated per order, by type (sampled):");
            foreach (var (type, bytes) in run.AllocatedBytesPerOrderByType)
            {
                AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {bytes,6:F0} bytes  {type}"));
            }
        }

        foreach (var protocol in only == "failover" ? (string[])["Consumer", "Classic"] : [])
        {
            foreach (var kill in (bool[])[true, false])
            {
                status.Status($"Failover ({protocol} protocol): {(kill ? "SIGKILL" : "SIGTERM")} and restart");
                var run = await Failover.RestartAsync(context, kill, protocol);
                failover.Add(run);
                AnsiConsole.MarkupLine(
                    $"[green]failover[/] {protocol}, {run.Case}: no batch committed for {run.PauseSeconds:F1} s; {run.Delivered:N0} orders delivered, " +
                    $"{run.Stored:N0} stored ({run.DistinctStored:N0} distinct)");
            }

            status.Status($"Failover ({protocol} protocol): two processes on Snowflake, one SIGKILLed");
            var survivor = await Failover.SurvivorAsync(context, protocol);
            failover.Add(survivor);
            AnsiConsole.MarkupLine(
                $"[green]failover[/] {protocol}, {survivor.Case}: its partitions committing again on the survivor {survivor.PauseSeconds:F1} s after the kill; " +
                $"the survivor's own partitions' longest gap between commits {survivor.OwnPauseAfterSeconds:F1} s after the kill " +
                $"({survivor.OwnPauseBeforeSeconds:F1} s in the 20 s before); {survivor.Delivered:N0} orders delivered, {survivor.Stored:N0} stored " +
                $"({survivor.DistinctStored:N0} distinct)");
        }

        if (Runs("snowflake") && snowflakeLatency)
        {
            status.Status("Snowflake at 200 ms per statement: latency at 1,000 orders/s");
            var latency = await SnowflakeAtLatency.LatencyAsync(context, TimeSpan.FromMilliseconds(200), 1_000, latencySeconds, writePath);
            snowflake.Add(latency);
            AnsiConsole.MarkupLine($"[green]snowflake latency at 1,000/s[/] p50 {latency.P50Ms:N0} ms, p99 {latency.P99Ms:N0} ms");
        }

        foreach (var (size, delay) in Runs("sweep") ? settings : [])
        {
            status.Status($"Batch sweep: {size:N0} events / {delay.TotalMilliseconds} ms");
            var run = await Throughput.RunAsync(context, size, delay);
            var latency = await Latency.RunAsync(context, 2_000, latencySeconds, size, delay);
            sweep.Add(new SweepPoint(size, delay.TotalMilliseconds, run.PipelineRate, latency.P99Ms));
            AnsiConsole.MarkupLine($"[green]batch {size:N0}/{delay.TotalMilliseconds} ms[/] {run.PipelineRate:N0} orders/s, p99 {latency.P99Ms:N0} ms");
        }
    });

    // Kept apart from a full run's figures: `--report <full run>.json --scaleout|--failover <this>.json` puts both on BENCHMARKS.md.
    var command = "dotnet run -c Release --project bench/Ecommerce.Benchmarks -- " + string.Join(' ', args);
    if (only == "scaleout")
    {
        var saved = new ScaleOutResults(DateTimeOffset.UtcNow, Machine(), command, scaleOut);
        Console.WriteLine(Report.ScaleOutMarkdown(saved));
        Console.WriteLine($"Saved as {Report.WriteScaleOut(saved, root)}");
    }

    if (only == "failover")
    {
        var saved = new FailoverResults(DateTimeOffset.UtcNow, Machine(), command, failover);
        Console.WriteLine(Report.FailoverMarkdown(saved));
        Console.WriteLine($"Saved as {Report.WriteFailover(saved, root)}");
    }

    if (only is not null)
    {
        return;
    }

    var results = new BenchResults(
        DateTimeOffset.UtcNow, Machine(), "dotnet run -c Release --project bench/Ecommerce.Benchmarks" + (args.Length > 0 ? " -- " + string.Join(' ', args) : ""),
        throughput, original, shape, latencies, sweep, scale, snowflake)
    {
        Steady = steady,
    };
    Report.Write(results, root, updatePage: !quick);
    Console.WriteLine();
    Console.WriteLine(Report.Markdown(results));
}
finally
{
    Directory.Delete(work, recursive: true);
}

static string Machine()
{
    var cpu = File.Exists("/proc/cpuinfo")
        ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim()
        : null;
    var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
    return $"{Environment.ProcessorCount} cores ({cpu ?? "unknown CPU"}), {memory:N0} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
}
