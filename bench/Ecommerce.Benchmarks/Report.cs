using System.Globalization;
using System.Text;
using System.Text.Json;
using Ecommerce.Benchmarks.Scenarios;

namespace Ecommerce.Benchmarks;

public sealed record SweepPoint(int MaxBatchSize, double MaxBatchDelayMs, double PipelineRate, double P99Ms);

public sealed record BenchResults(
    DateTimeOffset At,
    string Machine,
    string Command,
    ThroughputResult Throughput,
    double OriginalDesignRate,
    ThroughputResult? OriginalShape,
    IReadOnlyList<LatencyResult> Latencies,
    IReadOnlyList<SweepPoint> Sweep,
    IReadOnlyList<ScaleResult> Scale,
    IReadOnlyList<SnowflakeResult> Snowflake)
{
    /// <summary>A scale-out run's figures (<c>--only scaleout</c>), measured apart and reported beside these.</summary>
    public ScaleOutResults? ScaleOut { get; init; }

    /// <summary>A failover run's figures (<c>--only failover</c>), measured apart and reported beside these.</summary>
    public FailoverResults? Failover { get; init; }

    /// <summary>DuckDB's CPU per order once warmed up, by stage, and the bytes allocated per order (runs before 2026-12-04 have none).</summary>
    public SteadyStateResult? Steady { get; init; }
}

/// <summary>How long ingestion stops when a process dies or is replaced, with both group protocols: <c>--only failover</c>.</summary>
public sealed record FailoverResults(DateTimeOffset At, string Machine, string Command, IReadOnlyList<FailoverResult> Runs);

/// <summary>The Snowflake write paths with more ingestion processes: <c>--only scaleout</c>.</summary>
public sealed record ScaleOutResults(DateTimeOffset At, string Machine, string Command, IReadOnlyList<SnowflakeResult> Runs);

/// <summary>Writes the results as a markdown table, JSON and a chart, and refreshes BENCHMARKS.md.</summary>
public static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string Markdown(BenchResults r)
    {
        var t = r.Throughput;
        var md = new StringBuilder();
        md.AppendLine(Invariant, $"Measured {r.At:yyyy-MM-dd HH:mm} UTC on {r.Machine}, Release build, with `{r.Command}`.");
        md.AppendLine();
        md.AppendLine("| figure | result | goal |");
        md.AppendLine("|---|---|---|");
        md.AppendLine(Invariant, $"| simulator into the embedded broker | {t.SimulatorRate:N0} orders/s | |");
        md.AppendLine(Invariant, $"| 1. broker limit: a plain consumer draining {t.Orders:N0} orders | {t.BrokerLimitRate:N0} orders/s | |");
        md.AppendLine(Invariant, $"| 2. pipeline: exactly-once ingest into DuckDB | {t.PipelineRate:N0} orders/s ({t.PipelineRate / t.BrokerLimitRate:P0} of the broker limit) | >= 50,000/s and >= 50% |");
        md.AppendLine(Invariant, $"| 3. original design (per message: 3 MERGE + 1 INSERT) | {r.OriginalDesignRate:N0} orders/s (pipeline is {t.PipelineRate / r.OriginalDesignRate:N0}x) | >= 50x |");
        foreach (var l in r.Latencies)
        {
            var goal = l.Rate == 1_000 ? "p99 <= 500 ms" : "";
            md.AppendLine(Invariant, $"| 4. end-to-end latency at {l.Rate:N0} orders/s ({l.Orders:N0} orders) | p50 {l.P50Ms:N0} ms, p95 {l.P95Ms:N0} ms, p99 {l.P99Ms:N0} ms, max {l.MaxMs:N0} ms | {goal} |");
        }

        md.AppendLine(Invariant, $"| 5. consumer peak memory (VmHWM) | {t.PeakMemoryMb:N0} MB | <= 300 MB |");
        md.AppendLine(Invariant, $"| 5. consumer CPU per million orders | {t.CpuSecondsPerMillion:N1} s | |");
        if (r.Steady is { } steady)
        {
            md.AppendLine(Invariant, $"| 5. steady state: CPU per order after {steady.WarmUpSeconds:N0} s of warm-up, {steady.MeasuredOrders:N0} orders at {steady.Rate:N0}/s | {steady.CpuMicrosecondsPerOrder:N1} µs; {steady.AllocatedBytesPerOrder:N0} bytes allocated per order; peak memory {steady.PeakMemoryMb:N0} MB{(steady.OrdersPerBatch > 0 ? string.Create(Invariant, $"; {steady.OrdersPerBatch:N0} orders per batch") : "")} | <= 30 µs |");
        }

        if (r.Steady is { } stages)
        {
            md.AppendLine();
            md.AppendLine(Invariant, $"Steady state (5), where the consumer's CPU goes, per order, by thread (from /proc; {stages.Orders:N0} orders sent at a steady rate while the consumer ingests them into a new DuckDB file, measured after the warm-up):");
            md.AppendLine();
            md.AppendLine("| what the threads do | CPU per order |");
            md.AppendLine("|---|---|");
            foreach (var (work, micros) in stages.CpuMicrosecondsPerOrderByWork.OrderByDescending(w => w.Value).Where(w => w.Value >= 0.05))
            {
                md.AppendLine(Invariant, $"| {work} | {micros:N1} µs |");
            }

            md.AppendLine(Invariant, $"| all of the process (threads that ended included) | {stages.CpuMicrosecondsPerOrder:N1} µs |");
            if (stages.CpuMicrosecondsPerOrderByStage.Count > 0)
            {
                md.AppendLine();
                md.AppendLine("The same window by stage of the work, as the consumer counts it (`CpuByStage`: a batch's stages by their thread's CPU clock; the consume loop's CPU by its thread's clock every 64 turns, shared out between reading and parsing by the parsing's wall time). In no stage: the writer's dead letters, metrics and status, the Kafka client's threads, the background collector, and a stage's part that followed a wait on another thread:");
                md.AppendLine();
                md.AppendLine("| stage | CPU per order |");
                md.AppendLine("|---|---|");
                foreach (var (stage, micros) in stages.CpuMicrosecondsPerOrderByStage)
                {
                    md.AppendLine(Invariant, $"| {StageName(stage)} | {micros:N1} µs |");
                }

                var counted = stages.CpuMicrosecondsPerOrderByStage.Values.Sum();
                md.AppendLine(Invariant, $"| in no stage | {stages.CpuMicrosecondsPerOrder - counted:N1} µs |");
            }

            if (stages.AllocatedBytesPerOrderByType.Count > 0)
            {
                md.AppendLine();
                md.AppendLine(Invariant, $"And what it allocates, {stages.AllocatedBytesPerOrder:N0} bytes per order over the same window, by type (the largest; the runtime's allocation ticks, one per ~100 KB, shared out: a sample):");
                md.AppendLine();
                md.AppendLine("| type | bytes per order |");
                md.AppendLine("|---|---|");
                foreach (var (type, bytes) in stages.AllocatedBytesPerOrderByType)
                {
                    md.AppendLine(Invariant, $"| `{type}` | {bytes:N0} |");
                }
            }
        }

        md.AppendLine();
        md.AppendLine("DuckDB at scale (8): the same pipeline on other data and into warehouses that already hold a year or more of orders.");
        md.AppendLine("Each rate is measured from the consumer's first written batch to its last; memory is the consumer's peak resident set.");
        md.AppendLine();
        // Runs saved before restarts after a clean stop (or a crash) were measured have no such column.
        var restarts = r.Scale.Any(s => s.SecondsToFirstBatchAfterCleanStop is not null || s.AfterCleanStop is not null);
        var crashes = r.Scale.Any(s => s.AfterCrash is not null);
        var restartHeader = (crashes ? " the same after a crash |" : "") + (restarts ? " the same after a clean stop |" : "");
        var empty = (crashes ? " |" : "") + (restarts ? " |" : "");
        md.AppendLine(Invariant, $"| run | orders | throughput | of the plain drain | of the empty warehouse | peak memory | CPU per million orders | start to first batch{(crashes ? " (a first start: every stored id read)" : "")} |{restartHeader}");
        md.AppendLine("|---|---|---|---|---|---|---|---|" + (crashes ? "---|" : "") + (restarts ? "---|" : ""));
        md.AppendLine(Invariant, $"| simulator's orders, empty warehouse | {t.Orders:N0} | {t.PipelineRate:N0} orders/s | {t.PipelineRate / t.BrokerLimitRate:P0} | | {t.PeakMemoryMb:N0} MB | {t.CpuSecondsPerMillion:N0} s | |{empty}");
        if (r.OriginalShape is { } o)
        {
            md.AppendLine(Invariant, $"| original producer's shape (unkeyed, random names, random times over 60 days), empty warehouse | {o.Orders:N0} | {o.PipelineRate:N0} orders/s | {o.PipelineRate / o.BrokerLimitRate:P0} (drain {o.BrokerLimitRate:N0}/s) | | {o.PeakMemoryMb:N0} MB | {o.CpuSecondsPerMillion:N0} s | |{empty}");
        }

        foreach (var s in r.Scale)
        {
            var first = s.StoredIdsLoadSeconds is { } load ? string.Create(Invariant, $"{s.SecondsToFirstBatch:N1} s (ids read in {load:N1} s)") : string.Create(Invariant, $"{s.SecondsToFirstBatch:N1} s");
            var afterClean = s.AfterCleanStop is { } clean ? Restart(clean) : s.SecondsToFirstBatchAfterCleanStop is { } again ? string.Create(Invariant, $"{again:N1} s") : "";
            md.AppendLine(Invariant, $"| simulator's orders into {s.ExistingOrders:N0} existing orders | {t.Orders:N0} | {s.PipelineRate:N0} orders/s | {s.PipelineRate / t.BrokerLimitRate:P0} | {s.PipelineRate / t.PipelineRate:F2}x | {s.PeakMemoryMb:N0} MB | {s.CpuSecondsPerMillion:N0} s | {first} |{(crashes ? $" {(s.AfterCrash is { } crash ? Restart(crash) : "")} |" : "")}{(restarts ? $" {afterClean} |" : "")}");
        }

        if (crashes)
        {
            md.AppendLine();
            md.AppendLine("A restart finds 10,000 new orders waiting; its peak memory is in brackets. After a crash (SIGKILL once the first run has written everything) the");
            md.AppendLine("killed member's Kafka session (6 s) must expire before the new process gets partitions, whatever the warehouse holds.");
        }
        md.AppendLine();
        md.AppendLine("Goals: >= 50,000 orders/s and >= 50 % of the plain drain into the empty warehouse; >= 0.8x of that into 30,000,000 orders; peak memory <= 300 MB in both.");
        md.AppendLine();
        md.AppendLine("![DuckDB ingest throughput and memory by run](bench/results/duckdb-scale.png)");
        md.AppendLine();
        md.AppendLine("Batch size sweep (6): pipeline throughput on the same pre-filled topic, and p99 end-to-end latency at 2,000 orders/s.");
        md.AppendLine();
        md.AppendLine("| MaxBatchSize | MaxBatchDelay | throughput | p99 latency |");
        md.AppendLine("|---|---|---|---|");
        foreach (var p in r.Sweep)
        {
            md.AppendLine(Invariant, $"| {p.MaxBatchSize:N0} | {p.MaxBatchDelayMs:N0} ms | {p.PipelineRate:N0} orders/s | {p.P99Ms:N0} ms |");
        }

        if (r.Snowflake.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("Snowflake (7), through the SQL API test double with a fixed cost added to every statement, as a real warehouse has:");
            md.AppendLine();
            md.AppendLine("| per statement | consumers | orders | throughput | requests per 1,000 orders | request KB per 1,000 orders | goal |");
            md.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var s in r.Snowflake.Where(s => s.P99Ms is null))
            {
                var goal = s.StatementLatencyMs == 200 ? s.Consumers == 1 ? ">= 5,000/s" : ">= 1.6x one consumer" : "";
                md.AppendLine(Invariant, $"| {s.StatementLatencyMs:N0} ms | {s.Consumers} | {s.Orders:N0} | {s.Rate:N0} orders/s | {s.RequestsPerThousand:N1} | {s.KilobytesPerThousand:N0} | {goal} |");
            }

            md.AppendLine();
            md.AppendLine("Where a batch's time goes (from the double's record of every submission it ran):");
            md.AppendLine();
            foreach (var s in r.Snowflake.Where(s => s.Timeline is not null))
            {
                md.AppendLine(Invariant, $"- {s.StatementLatencyMs:N0} ms, {s.Consumers} consumer(s): {s.Timeline}");
            }

            foreach (var s in r.Snowflake.Where(s => s.P99Ms is not null))
            {
                md.AppendLine();
                md.AppendLine(Invariant, $"End-to-end latency at {s.Rate:N0} orders/s and {s.StatementLatencyMs:N0} ms per statement: p50 {s.P50Ms:N0} ms, p99 {s.P99Ms:N0} ms (goal: p99 <= 5 s).");
            }
        }

        return md.ToString();
    }

    /// <summary>The scale-out table: per write path and cost per statement, throughput by processes and against one.</summary>
    public static string ScaleOutMarkdown(ScaleOutResults r)
    {
        var md = new StringBuilder();
        md.AppendLine(Invariant, $"Measured {r.At:yyyy-MM-dd HH:mm} UTC on {r.Machine}, with `{r.Command}`.");
        md.AppendLine();
        md.AppendLine("| write path | per statement | processes | orders (partitions) | sustained: a tenth of the backlog stored to nine tenths | against one process | from the first commit to the last | from the first send | stored (distinct) | requests per 1,000 orders | CPU s per 1,000 orders: consumers, double + broker | machine busy | peak memory of a process | goal |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in r.Runs.Where(s => s.P99Ms is null))
        {
            var one = r.Runs.FirstOrDefault(o => o.P99Ms is null && o.Path == s.Path && o.StatementLatencyMs == s.StatementLatencyMs && o.Consumers == 1);
            var ratio = one is null ? "" : string.Create(Invariant, $"{ScaleOutRatio(s, one):F2}x");
            var goal = (s.StatementLatencyMs, s.Consumers) switch
            {
                (1_000, 4) => ">= 3x",
                (200, 1) => ">= 8,000/s",
                (200, 2) => ">= 1.8x",
                _ => "",
            };
            var cpu = s.ConsumerCpuPerThousand is { } consumers ? string.Create(Invariant, $"{consumers:F2}, {s.DoubleCpuPerThousand:F2}") : "";
            var busy = s.MachineBusy is { } b ? string.Create(Invariant, $"{b:P0}") : "";
            var peak = s.PeakMemoryMb is { } mb ? string.Create(Invariant, $"{mb:N0} MB") : "";
            var commitRate = s.CommitRate is { } c ? string.Create(Invariant, $"{c:N0} orders/s") : "";
            var sustained = s.SustainedRate is { } r90 ? string.Create(Invariant, $"{r90:N0} orders/s") : "";
            md.AppendLine(Invariant,
                $"| {s.Path} | {s.StatementLatencyMs:N0} ms | {s.Consumers} | {s.Orders:N0} ({s.Partitions ?? 12}) | {sustained} | {ratio} | {commitRate} | {s.Rate:N0} orders/s | {s.Stored:N0} ({s.DistinctStored:N0}) | {s.RequestsPerThousand:N1} | {cpu} | {busy} | {peak} | {goal} |");
        }

        md.AppendLine();
        foreach (var s in r.Runs.Where(s => s.P99Ms is not null))
        {
            md.AppendLine(Invariant,
                $"- {s.Path}: end-to-end latency at {s.Rate:N0} orders/s, {s.StatementLatencyMs:N0} ms per statement, from the simulator's send to the order's first sight in FACT_ORDERS (orders sent before the first commit left out): p50 {s.P50Ms:N0} ms, p99 {s.P99Ms:N0} ms (goal: p99 <= 5 s).");
        }

        md.AppendLine();
        md.AppendLine("Where the time goes (from the double's record of every submission it ran; a \"batch transaction\" is a modelling cycle on the landed path):");
        md.AppendLine();
        foreach (var s in r.Runs.Where(s => s.Timeline is not null))
        {
            md.AppendLine(Invariant, $"- {s.Path}, {s.StatementLatencyMs:N0} ms, {s.Consumers} process(es): {s.Timeline}");
        }

        return md.ToString();
    }

    /// <summary>
    /// A scale-out run's throughput: sustained where measured (runs before 2026-12-05 12:00: from the first commit to the
    /// last, or from the first send).
    /// </summary>
    private static double ScaleOutRate(SnowflakeResult s) => s.SustainedRate ?? s.CommitRate ?? s.Rate;

    /// <summary>A run's rate against one process's, both by the same measure: the first that both runs have.</summary>
    private static double ScaleOutRatio(SnowflakeResult s, SnowflakeResult one) =>
        (s.SustainedRate, one.SustainedRate) is ({ } a, { } b) ? a / b
        : (s.CommitRate, one.CommitRate) is ({ } c, { } d) ? c / d
        : s.Rate / one.Rate;

    /// <summary>The failover table: per group protocol and case, the pause, the goal, and whether every order landed once.</summary>
    public static string FailoverMarkdown(FailoverResults r)
    {
        var md = new StringBuilder();
        md.AppendLine(Invariant, $"Measured {r.At:yyyy-MM-dd HH:mm} UTC on {r.Machine}, with `{r.Command}`.");
        md.AppendLine();
        md.AppendLine("| group protocol | case | no commits for | goal | the survivor's own partitions: longest gap between commits, 20 s after (before) | delivered | stored (distinct) |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var f in r.Runs)
        {
            var goal = f.Case.StartsWith("SIGKILL", StringComparison.Ordinal) ? "<= 10 s" : f.Case.StartsWith("SIGTERM", StringComparison.Ordinal) ? "<= 3 s" : "<= 15 s";
            var own = f.OwnPauseAfterSeconds is { } after ? string.Create(Invariant, $"{after:F1} s ({f.OwnPauseBeforeSeconds:F1} s)") : "";
            md.AppendLine(Invariant,
                $"| {f.Protocol} | {f.Case} | {f.PauseSeconds:F1} s | {goal} | {own} | {f.Delivered:N0} | {f.Stored:N0} ({f.DistinctStored:N0}) |");
        }

        return md.ToString();
    }

    /// <summary>Keeps a failover run's figures under bench/results; returns the JSON file's path.</summary>
    public static string WriteFailover(FailoverResults results, string repositoryRoot) =>
        KeepApart("failover", results.At, FailoverMarkdown(results), results, repositoryRoot);

    /// <summary>Keeps a scale-out run's figures under bench/results, and its chart; returns the JSON file's path.</summary>
    public static string WriteScaleOut(ScaleOutResults results, string repositoryRoot)
    {
        var file = KeepApart("scaleout", results.At, ScaleOutMarkdown(results), results, repositoryRoot);
        ScaleOutChart(results, Path.Combine(Path.GetDirectoryName(file)!, "snowflake-scale-out.png"));
        return file;
    }

    /// <summary>Writes a run measured apart as bench/results/{kind}-{stamp}.md and .json; returns the JSON file's path.</summary>
    /// <summary>A restart: its time to the first batch, how it loaded the stored ids, and its peak memory.</summary>
    private static string Restart(RestartResult r) => string.Create(Invariant,
        $"{r.SecondsToFirstBatch:N1} s (ids loaded in {r.StoredIdsLoadSeconds:N2} s, {r.IdsReadFromFactTable:N0} read from the fact table; {r.PeakMemoryMb:N0} MB)");

    private static string KeepApart<T>(string kind, DateTimeOffset at, string markdown, T results, string repositoryRoot)
    {
        var folder = Path.Combine(repositoryRoot, "bench", "results");
        Directory.CreateDirectory(folder);
        var stamp = at.ToString("yyyyMMdd-HHmmss", Invariant);
        File.WriteAllText(Path.Combine(folder, $"{kind}-{stamp}.md"), markdown);
        var file = Path.Combine(folder, $"{kind}-{stamp}.json");
        File.WriteAllText(file, JsonSerializer.Serialize(results, Indented));
        return file;
    }

    /// <summary>Throughput against processes, one line per write path and cost per statement.</summary>
    private static void ScaleOutChart(ScaleOutResults r, string path)
    {
        var plot = new ScottPlot.Plot();
        foreach (var line in r.Runs.Where(s => s.P99Ms is null).GroupBy(s => (s.Path, s.StatementLatencyMs)).OrderBy(g => g.Key.Path).ThenBy(g => g.Key.StatementLatencyMs))
        {
            var points = line.OrderBy(s => s.Consumers).ToArray();
            var scatter = plot.Add.Scatter(points.Select(s => (double)s.Consumers).ToArray(), points.Select(ScaleOutRate).ToArray());
            scatter.LegendText = string.Create(Invariant, $"{line.Key.Path}, {line.Key.StatementLatencyMs:N0} ms per statement");
            scatter.LinePattern = line.Key.Path == "Landed" ? ScottPlot.LinePattern.Solid : ScottPlot.LinePattern.Dashed;
        }

        plot.Axes.Bottom.Label.Text = "ingestion processes";
        plot.Axes.Left.Label.Text = "orders/s";
        plot.Axes.Bottom.SetTicks([1, 2, 4], ["1", "2", "4"]);
        plot.Title("Snowflake (SQL API double): throughput by ingestion processes");
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plot.SavePng(path, 800, 450);
    }

    /// <summary>Keeps the results under bench/results; with <paramref name="updatePage"/>, also as BENCHMARKS.md and its chart.</summary>
    public static void Write(BenchResults results, string repositoryRoot, bool updatePage)
    {
        var folder = Path.Combine(repositoryRoot, "bench", "results");
        Directory.CreateDirectory(folder);
        var stamp = results.At.ToString("yyyyMMdd-HHmmss", Invariant);
        var markdown = Markdown(results);
        File.WriteAllText(Path.Combine(folder, $"{stamp}.md"), markdown);
        File.WriteAllText(Path.Combine(folder, $"{stamp}.json"), JsonSerializer.Serialize(results, Indented));
        if (!updatePage)
        {
            return;
        }

        var chart = Path.Combine(folder, "batch-sweep.png");
        Chart(results.Sweep, chart);
        ScaleChart(results, Path.Combine(folder, "duckdb-scale.png"));

        var page = new StringBuilder();
        page.AppendLine("# Benchmarks");
        page.AppendLine();
        page.AppendLine("Throughput, latency and resources of the pipeline, measured side by side in one run by");
        page.AppendLine("`bench/Ecommerce.Benchmarks` against the embedded broker, DuckDB and the Snowflake SQL API test double, with the real");
        page.AppendLine("services as processes.");
        page.AppendLine();
        page.AppendLine("```bash");
        page.AppendLine(results.Command);
        page.AppendLine("```");
        page.AppendLine();
        page.Append(markdown);
        page.AppendLine();
        page.AppendLine("![Throughput and p99 latency against batch size](bench/results/batch-sweep.png)");
        page.AppendLine();
        page.AppendLine(Invariant, $"Raw figures: `bench/results/{stamp}.json`.");
        if (results.ScaleOut is { } scaleOut)
        {
            page.AppendLine();
            page.AppendLine("## Scale-out on Snowflake: the two write paths with 1, 2 and 4 ingestion processes");
            page.AppendLine();
            page.AppendLine("Each process is a consumer of the same group, on the same 2-core machine as the broker and the SQL API double (whose");
            page.AppendLine("one DuckDB database serves every statement in turn, apart from INSERTs that read no table, such as a landing, which");
            page.AppendLine("run side by side as on Snowflake, their commits in turn): where the machine is busy most of the time, the machine, not");
            page.AppendLine("the write path, is the limit. `Direct` writes each batch in one transaction, in turn with the others; `Landed`");
            page.AppendLine("appends batches with INSERTs and models them in cycles. A backlog is sent once every process holds partitions. The");
            page.AppendLine("sustained rate, which the ratios and the chart use, runs from the commit that took the stored orders past a tenth of");
            page.AppendLine("the backlog to the one past nine tenths: the start and the tail (a last cycle of stragglers costs a whole transaction)");
            page.AppendLine("weigh on a rate from the first commit to the last whatever the backlog's size. What limits each path, and how far each");
            page.AppendLine("would go with 8 processes on paper: docs/write-path.md, \"What limits it\".");
            page.AppendLine();
            page.Append(ScaleOutMarkdown(scaleOut));
            page.AppendLine();
            page.AppendLine("![Throughput by ingestion processes](bench/results/snowflake-scale-out.png)");
            page.AppendLine();
            page.AppendLine(Invariant, $"Raw figures: `bench/results/scaleout-{scaleOut.At.ToString("yyyyMMdd-HHmmss", Invariant)}.json`.");
        }

        if (results.Failover is { } failover)
        {
            page.AppendLine();
            page.AppendLine("## Failover: how long ingestion stops when a process dies or is replaced");
            page.AppendLine();
            page.AppendLine("The simulator sends 1,000 orders/s throughout. Restarts: one consumer on DuckDB, killed (SIGKILL) or stopped (SIGTERM)");
            page.AppendLine("and started again at once; the pause runs to the new process's first committed batch, its start-up included.");
            page.AppendLine("Survivor: two consumers on the Snowflake double (200 ms per statement), one killed and not restarted; the pause runs");
            page.AppendLine("to the survivor's first commit on the last of the dead process's partitions. The embedded broker's sessions last 6 s");
            page.AppendLine("(the classic protocol's is the client's `SessionTimeoutMs`, the consumer protocol's the broker's");
            page.AppendLine("`group.consumer.session.timeout.ms`); README \"Failover\" has what each costs on a real broker.");
            page.AppendLine();
            page.Append(FailoverMarkdown(failover));
            page.AppendLine();
            page.AppendLine(Invariant, $"Raw figures: `bench/results/failover-{failover.At.ToString("yyyyMMdd-HHmmss", Invariant)}.json`.");
        }
        File.WriteAllText(Path.Combine(repositoryRoot, "BENCHMARKS.md"), page.ToString());
    }

    /// <summary>Throughput (bars, left) and peak memory (markers, right) of each DuckDB run, with the goals as lines.</summary>
    private static void ScaleChart(BenchResults r, string path)
    {
        var runs = new List<(string Label, double Rate, double Memory)> { ("simulator, empty", r.Throughput.PipelineRate, r.Throughput.PeakMemoryMb) };
        if (r.OriginalShape is { } o)
        {
            runs.Add(("original shape, empty", o.PipelineRate, o.PeakMemoryMb));
        }

        runs.AddRange(r.Scale.Select(s => ($"into {s.ExistingOrders / 1e6:0.#} M", s.PipelineRate, s.PeakMemoryMb)));
        var plot = new ScottPlot.Plot();
        var positions = Enumerable.Range(0, runs.Count).Select(i => (double)i).ToArray();
        var bars = plot.Add.Bars(positions, runs.Select(x => x.Rate).ToArray());
        bars.LegendText = "throughput (orders/s, left)";
        var memory = plot.Add.Scatter(positions, runs.Select(x => x.Memory).ToArray());
        memory.LegendText = "peak memory (MB, right)";
        memory.LineWidth = 0;
        memory.MarkerSize = 12;
        memory.Axes.YAxis = plot.Axes.Right;
        var rateGoal = plot.Add.HorizontalLine(50_000);
        rateGoal.LegendText = "goal: 50,000 orders/s";
        rateGoal.LinePattern = ScottPlot.LinePattern.Dashed;
        var memoryGoal = plot.Add.HorizontalLine(300);
        memoryGoal.Axes.YAxis = plot.Axes.Right;
        memoryGoal.LegendText = "goal: 300 MB";
        memoryGoal.LinePattern = ScottPlot.LinePattern.Dotted;
        memoryGoal.Color = memory.Color;
        plot.Axes.Bottom.SetTicks(positions, runs.Select(x => x.Label).ToArray());
        plot.Axes.Left.Label.Text = "orders/s";
        plot.Axes.Right.Label.Text = "MB";
        plot.Axes.SetLimitsY(0, Math.Max(55_000, runs.Max(x => x.Rate) * 1.1), plot.Axes.Left);
        plot.Axes.SetLimitsY(0, Math.Max(350, runs.Max(x => x.Memory) * 1.1), plot.Axes.Right);
        plot.Title("DuckDB: ingest rate and consumer memory by run");
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plot.SavePng(path, 900, 480);
    }

    private static void Chart(IReadOnlyList<SweepPoint> sweep, string path)
    {
        var plot = new ScottPlot.Plot();
        var sizes = sweep.Select(p => (double)p.MaxBatchSize).ToArray();
        var throughput = plot.Add.Scatter(sizes, sweep.Select(p => p.PipelineRate).ToArray());
        throughput.LegendText = "throughput (orders/s, left)";
        var latency = plot.Add.Scatter(sizes, sweep.Select(p => p.P99Ms).ToArray());
        latency.LegendText = "p99 latency at 2,000/s (ms, right)";
        latency.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Bottom.Label.Text = "Ingestion:MaxBatchSize";
        plot.Axes.Left.Label.Text = "orders/s";
        plot.Axes.Right.Label.Text = "ms";
        plot.Title("Batch size: throughput against latency");
        plot.ShowLegend();
        plot.SavePng(path, 800, 450);
    }

    /// <summary>A stage as the consumer's status names it (camel case), as the issue and the README name it.</summary>
    private static string StageName(string stage) => stage switch
    {
        "read" => "read (the consume loop but the parsing: the Kafka client's Consume, and the loop's bookkeeping)",
        "parseAndValidate" => "parse and validate",
        "classify" => "classify (new, duplicate, conflict)",
        "history" => "history (customers' versions taken or read, rebuilt)",
        "write" => "write (rows and statements, up to the commit)",
        "commit" => "commit",
        _ => stage,
    };
}
