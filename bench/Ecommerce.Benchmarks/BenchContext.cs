using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Ecommerce.Hosting.Kafka;
using Ecommerce.ServiceDefaults.Messaging;
using Ecommerce.Testing;

namespace Ecommerce.Benchmarks;

/// <summary>What every scenario needs: a scratch folder, fresh embedded brokers, and the real services as processes.</summary>
public sealed class BenchContext(string workDirectory, int orders)
{
    public string WorkDirectory { get; } = workDirectory;

    /// <summary>Orders per throughput run; within the embedded broker's retention (about 5 MiB per partition).</summary>
    public int Orders { get; } = orders;

    public const int Partitions = 12;

    public static EmbeddedKafkaBroker StartBroker(int partitions = Partitions) =>
        EmbeddedKafkaBroker.Start(0, KafkaTopics.All.ToDictionary(t => t, _ => partitions));

    public string NewWarehouse() => Path.Combine(WorkDirectory, $"warehouse-{Guid.NewGuid():N}.duckdb");

    public static ServiceProcess StartSimulator(EmbeddedKafkaBroker broker, long count, double rate, int seed = 1) =>
        ServiceProcess.Start("Ecommerce.Producer", new Dictionary<string, string?>
        {
            ["ConnectionStrings__kafka"] = broker.BootstrapServers,
            ["Simulator__Count"] = count.ToString(CultureInfo.InvariantCulture),
            ["Simulator__Rate"] = rate.ToString(CultureInfo.InvariantCulture),
            ["Simulator__Seed"] = seed.ToString(CultureInfo.InvariantCulture),
            ["Simulator__ProgressInterval"] = "00:01:00",
        });

    /// <summary>
    /// Starts the ingestion service on <paramref name="warehouse"/>. <c>ECOMMERCE_BENCH_DUCKDB_OPTIONS</c> is appended to
    /// its connection string, to try DuckDB settings (e.g. <c>;memory_limit=256MB</c>).
    /// </summary>
    public static ServiceProcess StartConsumer(EmbeddedKafkaBroker broker, string warehouse, int maxBatchSize = 5_000, TimeSpan? maxBatchDelay = null,
        IReadOnlyDictionary<string, string?>? settings = null) =>
        ServiceProcess.Start("Ecommerce.Consumer", new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
        {
            ["ConnectionStrings__kafka"] = broker.BootstrapServers,
            ["ConnectionStrings__warehouse"] = $"Data Source={warehouse}{Environment.GetEnvironmentVariable("ECOMMERCE_BENCH_DUCKDB_OPTIONS")}",
            ["Ingestion__MaxBatchSize"] = maxBatchSize.ToString(CultureInfo.InvariantCulture),
            ["Ingestion__MaxBatchDelay"] = (maxBatchDelay ?? TimeSpan.FromMilliseconds(200)).ToString("c", CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Warning",
            // How the stored ids were loaded at start (the large-warehouse runs report it).
            ["Logging__LogLevel__Ecommerce.Consumer.Warehouse.DuckDbWarehouseProvider"] = "Information",
        });

    /// <summary>
    /// Once the consumer holds every partition, the simulator sends <paramref name="count"/> orders at
    /// <paramref name="rate"/> per second; returns when the consumer has ingested them all, and stops it.
    /// </summary>
    public static async Task IngestAtRateAsync(EmbeddedKafkaBroker broker, ServiceProcess consumer, long count, double rate, TimeSpan catchUp)
    {
        await consumer.WaitUntilHealthyAsync(TimeSpan.FromMinutes(2));
        // Let the group settle (assignment) before the clock starts.
        await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("partitions").GetArrayLength() == Partitions,
            TimeSpan.FromMinutes(1), "partitions assigned");
        await using (var simulator = StartSimulator(broker, count, rate))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(count / rate) + TimeSpan.FromMinutes(2));
            await simulator.WaitForExitAsync(timeout.Token);
        }

        await WaitForIngestAsync(consumer, count, catchUp);
        await consumer.StopAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Fills topic <c>orders</c> with <paramref name="count"/> simulated orders, as fast as the broker takes them.</summary>
    public static async Task<double> FillAsync(EmbeddedKafkaBroker broker, long count, int seed = 1)
    {
        await using var simulator = StartSimulator(broker, count, rate: 0, seed);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await simulator.WaitForExitAsync(timeout.Token);
        if (simulator.ExitCode != 0)
        {
            throw new InvalidOperationException($"The simulator failed:\n{simulator.Output}");
        }

        var rate = System.Text.RegularExpressions.Regex.Match(simulator.Output, @"\((\d+) orders/s\)");
        return rate.Success ? double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
    }

    /// <summary>
    /// Waits until the consumer reports <paramref name="count"/> ingested orders. Returns the ingest rate and the CPU
    /// time spent, both measured from its first written batch to the last, so that process start-up is not counted.
    /// </summary>
    public static async Task<(double Rate, double CpuSeconds)> WaitForIngestAsync(ServiceProcess consumer, long count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var clock = Stopwatch.StartNew();
        (long Count, TimeSpan At, double Cpu)? first = null;
        while (DateTime.UtcNow < deadline)
        {
            var ingested = await IngestedAsync(consumer);
            if (ingested > 0 && first is null)
            {
                first = (ingested, clock.Elapsed, Resources(consumer.Id).CpuSeconds);
            }

            if (ingested >= count && first is { } start)
            {
                var seconds = (clock.Elapsed - start.At).TotalSeconds;
                var cpu = Resources(consumer.Id).CpuSeconds - start.Cpu;
                return (seconds > 0 ? (ingested - start.Count) / seconds : double.PositiveInfinity, cpu * count / Math.Max(1, ingested - start.Count));
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"The consumer did not ingest {count} orders in time:\n{consumer.Output}");
    }

    /// <summary>How many partitions the consumer holds now (0 when its status cannot be read).</summary>
    public static async Task<int> PartitionsOwnedAsync(ServiceProcess consumer)
    {
        try
        {
            return (await consumer.GetJsonAsync("/api/ingestion/status")).GetProperty("partitions").GetArrayLength();
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    public static async Task<long> IngestedAsync(ServiceProcess consumer)
    {
        try
        {
            return (await consumer.GetJsonAsync("/api/ingestion/status")).GetProperty("ingested").GetInt64();
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    /// <summary>Peak resident memory (VmHWM) and CPU time of a process, from /proc.</summary>
    public static (double PeakMegabytes, double CpuSeconds) Resources(int pid)
    {
        var status = File.ReadAllLines($"/proc/{pid}/status");
        var hwm = status.First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        var kilobytes = double.Parse(hwm.Split(':', StringSplitOptions.TrimEntries)[1].Split(' ')[0], CultureInfo.InvariantCulture);
        return (kilobytes / 1024, CpuSeconds($"/proc/{pid}/stat"));
    }

    /// <summary>User and system CPU time from a /proc stat file, of a process (<c>/proc/PID/stat</c>) or one of its threads.</summary>
    public static double CpuSeconds(string statFile)
    {
        var stat = File.ReadAllText(statFile);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / 100.0; // USER_HZ is 100 on Linux.
    }

    /// <summary>Drains <paramref name="count"/> records from topic <c>orders</c> doing nothing with them.</summary>
    public static double Drain(EmbeddedKafkaBroker broker, long count)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = $"bench-drain-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            FetchMaxBytes = 52_428_800,
        }).SetLogHandler((_, _) => { }).Build();
        consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset("orders", p, Offset.Beginning)));
        var read = 0L;
        var clock = new Stopwatch();
        while (read < count)
        {
            if (consumer.Consume(TimeSpan.FromSeconds(10)) is null)
            {
                throw new TimeoutException($"Only {read} of {count} records could be read.");
            }

            if (read++ == 0)
            {
                clock.Start();
            }
        }

        return (count - 1) / clock.Elapsed.TotalSeconds;
    }
}
