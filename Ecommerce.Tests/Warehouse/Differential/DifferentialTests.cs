using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.ServiceDefaults.Messaging;
using Ecommerce.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Ecommerce.Tests.Warehouse.Differential;

/// <summary>
/// Randomized differential tests: random order logs go through the real ingestion path into a real warehouse, and
/// every table and the dead-letter topic must equal what the independent <see cref="ReferenceModel"/> computes.
/// A fixed set of seeds runs in every <c>dotnet test</c>; <c>ECOMMERCE_DIFFERENTIAL_SEEDS=N</c> runs N more (a soak),
/// <c>ECOMMERCE_DIFFERENTIAL_SEED=S</c> replays one. A failure names the seed, cuts the log to a smaller one that
/// still fails, and prints its events.
/// </summary>
public abstract class DifferentialTests(EmbeddedKafka kafka, ITestOutputHelper output) : IClassFixture<EmbeddedKafka>, IDisposable
{
    private readonly TestMeters _meters = new();
    private IReadOnlyList<DeadLetterPublisher>? _deadLetters;

    private KafkaClientMetrics ClientMetrics => field ??= new(_meters.Factory);

    private static readonly TimeSpan ShrinkBudget = TimeSpan.FromSeconds(90);

    protected abstract string Warehouse { get; }

    /// <summary>Seeds every run of the suite covers on this warehouse.</summary>
    protected abstract int SuiteSeeds { get; }

    /// <summary>The write path the runs take.</summary>
    protected virtual IngestionWritePath Path => IngestionWritePath.Direct;

    [Fact]
    public async Task Random_order_logs_land_exactly_as_the_reference_model_says()
    {
        var seeds = Seeds();
        var started = Stopwatch.StartNew();
        var events = 0;
        foreach (var seed in seeds)
        {
            var log = OrderLog.Generate(seed);
            events += log.EventCount;
            var differences = await RunAsync(log);
            if (differences.Count > 0)
            {
                Assert.Fail(await DescribeFailureAsync(log, differences));
            }
        }

        output.WriteLine($"{Warehouse} ({Path}): {seeds.Count} random logs, {events} events, all as the model says, in {started.Elapsed.TotalSeconds:F1} s");
    }

    public void Dispose()
    {
        foreach (var publisher in _deadLetters ?? [])
        {
            publisher.Dispose();
        }

        _meters.Dispose();
        GC.SuppressFinalize(this);
    }

    private Task<IReadOnlyList<string>> RunAsync(OrderLog log)
    {
        _deadLetters ??= DifferentialRun.CreatePublishers(kafka.BootstrapServers, ClientMetrics);
        return DifferentialRun.RunAsync(log, Warehouse, kafka.BootstrapServers, _deadLetters, Path);
    }

    private List<int> Seeds()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("ECOMMERCE_DIFFERENTIAL_SEED"), CultureInfo.InvariantCulture, out var one))
        {
            return [one];
        }

        var soak = int.TryParse(Environment.GetEnvironmentVariable("ECOMMERCE_DIFFERENTIAL_SEEDS"), CultureInfo.InvariantCulture, out var more) ? more : 0;
        // The suite's seeds are fixed so that a run replays; a soak adds seeds that differ from run to run.
        var soakStart = Random.Shared.Next(1_000_000, int.MaxValue - more);
        return [.. Enumerable.Range(1, SuiteSeeds), .. Enumerable.Range(soakStart, soak)];
    }

    /// <summary>
    /// The seed, how to replay it, and the smallest log found (within a time budget) that still fails, removing
    /// ever smaller runs of events while the run still differs from the model.
    /// </summary>
    private async Task<string> DescribeFailureAsync(OrderLog log, IReadOnlyList<string> differences)
    {
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"{Warehouse} ({Path}): {log.Shape} differs from the reference model.")
            .AppendLine(CultureInfo.InvariantCulture, $"Replay: ECOMMERCE_DIFFERENTIAL_SEED={log.Seed} dotnet test --filter \"FullyQualifiedName~{GetType().Name}\"")
            .AppendJoin(Environment.NewLine, differences).AppendLine();

        var smallest = log;
        var budget = Stopwatch.StartNew();
        for (var chunk = Math.Max(1, smallest.EventCount / 2); chunk >= 1 && budget.Elapsed < ShrinkBudget; chunk /= 2)
        {
            for (var start = 0; start < smallest.EventCount && budget.Elapsed < ShrinkBudget;)
            {
                var index = 0;
                var cut = smallest.Without((_, _) => { var i = index++; return i >= start && i < start + chunk; });
                if (cut.EventCount > 0 && (await RunAsync(cut)).Count > 0)
                {
                    smallest = cut;
                }
                else
                {
                    start += chunk;
                }
            }
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"A smaller log that still fails ({smallest.EventCount} of {log.EventCount} events):");
        for (var p = 0; p < smallest.Partitions.Count; p++)
        {
            for (var o = 0; o < smallest.Partitions[p].Count; o++)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  p{p} @{o}: {Encoding.UTF8.GetString(smallest.Partitions[p][o].Value)}");
            }
        }

        text.AppendJoin(Environment.NewLine, await RunAsync(smallest));
        output.WriteLine(text.ToString());
        return text.ToString();
    }
}

public sealed class DuckDbDifferentialTests(EmbeddedKafka kafka, ITestOutputHelper output) : DifferentialTests(kafka, output)
{
    protected override string Warehouse => WarehouseTestBed.DuckDb;

    protected override int SuiteSeeds => 40;
}

public sealed class SnowflakeDifferentialTests(EmbeddedKafka kafka, ITestOutputHelper output) : DifferentialTests(kafka, output)
{
    protected override string Warehouse => WarehouseTestBed.Snowflake;

    protected override int SuiteSeeds => 15;
}

public sealed class DuckDbLandedDifferentialTests(EmbeddedKafka kafka, ITestOutputHelper output) : DifferentialTests(kafka, output)
{
    protected override string Warehouse => WarehouseTestBed.DuckDb;

    protected override IngestionWritePath Path => IngestionWritePath.Landed;

    protected override int SuiteSeeds => 25;
}

public sealed class SnowflakeLandedDifferentialTests(EmbeddedKafka kafka, ITestOutputHelper output) : DifferentialTests(kafka, output)
{
    protected override string Warehouse => WarehouseTestBed.Snowflake;

    protected override IngestionWritePath Path => IngestionWritePath.Landed;

    protected override int SuiteSeeds => 10;
}
