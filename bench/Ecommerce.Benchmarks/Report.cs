using System.Globalization;
using System.Text;
using System.Text.Json;
using Ecommerce.Benchmarks.Scenarios;

namespace Ecommerce.Benchmarks;

public sealed record SweepPoint(int MaxBatchSize, double MaxBatchDelayMs, double PipelineRate, double P99Ms);

public sealed record ScalePoint(int ExistingOrders, double PipelineRate);

public sealed record BenchResults(
    DateTimeOffset At,
    string Machine,
    string Command,
    ThroughputResult Throughput,
    double OriginalDesignRate,
    IReadOnlyList<LatencyResult> Latencies,
    IReadOnlyList<SweepPoint> Sweep,
    IReadOnlyList<ScalePoint> Scale,
    IReadOnlyList<SnowflakeResult> Snowflake);

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
        foreach (var s in r.Scale)
        {
            md.AppendLine(Invariant, $"| pipeline into a warehouse already holding {s.ExistingOrders:N0} orders | {s.PipelineRate:N0} orders/s | |");
        }

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
        File.WriteAllText(Path.Combine(repositoryRoot, "BENCHMARKS.md"), page.ToString());
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
}
