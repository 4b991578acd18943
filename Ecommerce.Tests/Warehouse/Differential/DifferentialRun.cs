using System.Globalization;
using System.Text;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Consumer.Ingestion.Landing;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.ServiceDefaults.Messaging;
using Ecommerce.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Ecommerce.Tests.Warehouse.Differential;

/// <summary>
/// Ingests an <see cref="OrderLog"/> through the real ingestion path (the validator inside PendingBatch, the
/// BatchWriter with its retries, stale-batch and stale-read handling, the StarSchemaWriter, a real warehouse, and
/// dead letters to a real Kafka-protocol broker) under a random schedule drawn from the seed: random batch
/// boundaries, one or two writers, a writer whose reads are overtaken by the other's write, partitions moving
/// between writers while a batch is in hand, batches abandoned before or after their dead letters were sent,
/// and a transaction that commits while its writer hears of a failure. Then every table and the dead-letter topic
/// are compared with the <see cref="ReferenceModel"/>.
/// </summary>
public sealed class DifferentialRun
{
    private const string DeadLetterTopic = IngestionWriter.DeadLetterTopic;
    private static readonly TimeSpan BatchDeadline = TimeSpan.FromSeconds(60);

    private readonly OrderLog _stream;
    private readonly Random _random;
    private readonly List<IngestionWriter> _writers = [];
    private readonly int[] _owner;
    private readonly long[] _position;
    private readonly int _maxBatch;
    private readonly IngestionWritePath _path;
    private readonly int _maxModelled;
    private readonly StringBuilder _schedule = new();
    private WarehouseTestBed _bed = null!;

    /// <summary>The run's own source topic name, so that runs sharing the broker's dead-letter topic tell theirs apart.</summary>
    private string Topic { get; } = $"orders.differential.{Guid.NewGuid():N}";

    private DifferentialRun(OrderLog stream, IngestionWritePath path)
    {
        _path = path;
        _stream = stream;
        _random = new Random(unchecked((stream.Seed * 7919) + 17));
        _owner = new int[stream.Partitions.Count];
        _position = new long[stream.Partitions.Count];
        _maxBatch = _random.Next(1, 40);
        _maxModelled = _random.Next(1, 60);
    }

    /// <summary>The differences between the warehouse and the model (none when the run is right), each a line.</summary>
    /// <param name="deadLetters">One publisher per writer (four), to the broker's <c>orders.dlq</c>: shared by the runs of a
    /// test, which tell their dead letters apart by their source topic, each run's own.</param>
    public static async Task<IReadOnlyList<string>> RunAsync(
        OrderLog stream, string warehouse, string bootstrapServers, IReadOnlyList<DeadLetterPublisher> deadLetters, IngestionWritePath path = IngestionWritePath.Direct)
    {
        var run = new DifferentialRun(stream, path);
        try
        {
            return await run.ExecuteAsync(warehouse, bootstrapServers, deadLetters);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return [$"the run failed: {ex.GetType().Name}: {ex.Message}", $"schedule: {run._schedule}"];
        }
    }

    private async Task<IReadOnlyList<string>> ExecuteAsync(string warehouse, string bootstrapServers, IReadOnlyList<DeadLetterPublisher> deadLetters)
    {
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        _bed = bed;
        // One writer in half the runs; otherwise two to four, as many as there are partitions to share.
        var writerCount = _stream.Partitions.Count > 1 && _random.Next(2) == 0 ? _random.Next(2, Math.Min(MaxWriters, _stream.Partitions.Count) + 1) : 1;
        for (var w = 0; w < writerCount; w++)
        {
            _writers.Add(new IngestionWriter(w, w == 0 ? bed.Provider : bed.OpenAnotherProvider(), bed.Time, deadLetters[w], Topic, _path, _maxModelled));
        }

        try
        {
            for (var p = 0; p < _owner.Length; p++)
            {
                _owner[p] = p % writerCount;
            }

            _schedule.Append(CultureInfo.InvariantCulture, $"{_path}: {writerCount} writer(s), batches of up to {_maxBatch}; ");
            if (_path == IngestionWritePath.Landed)
            {
                _schedule.Append(CultureInfo.InvariantCulture, $"modelling cycles of up to {_maxModelled} orders; ");
            }

            await IngestEverythingAsync();
            if (_path == IngestionWritePath.Landed)
            {
                await ModelEverythingAsync();
            }

            var differences = new List<string>();
            var model = new ReferenceModel(_stream);
            differences.AddRange(await WarehouseComparison.CompareTablesAsync(model, _bed.QueryAsync, Topic));
            differences.AddRange(WarehouseComparison.CompareDeadLetters(model, bootstrapServers, DeadLetterTopic, Topic));
            if (_path == IngestionWritePath.Landed)
            {
                differences.AddRange(await CompareLandedOutcomesAsync());
            }
            if (differences.Count > 0)
            {
                differences.Add($"schedule: {_schedule}");
            }

            return differences;
        }
        finally
        {
            foreach (var writer in _writers)
            {
                writer.Dispose();
            }
        }
    }

    private async Task IngestEverythingAsync()
    {
        for (var step = 0; ; step++)
        {
            var stored = await StoredOffsetsAsync();
            if (Enumerable.Range(0, _owner.Length).All(p => stored.GetValueOrDefault(p) >= _stream.Partitions[p].Count))
            {
                return;
            }

            if (step > 5_000)
            {
                throw new InvalidOperationException("the stream was not ingested after 5,000 batches");
            }

            var writer = _writers[_random.Next(_writers.Count)];
            var other = _writers.Count > 1 ? _writers.Where(w => w != writer).ElementAt(_random.Next(_writers.Count - 1)) : null;
            if (_path == IngestionWritePath.Landed && _random.NextDouble() < 0.3)
            {
                await ModelAsync(writer, other);
                continue;
            }

            if (!HasUnread(writer))
            {
                // Everything this writer owns was read; what is not stored yet was abandoned: read it again.
                Rewind(writer, Enumerable.Range(0, _owner.Length).Where(p => _owner[p] == writer.Id), stored);
                if (!HasUnread(writer))
                {
                    continue;
                }
            }

            var batch = Read(writer);
            var roll = _random.NextDouble();
            if (roll < 0.05)
            {
                Log("abandon");
                Rewind(writer, batch.Partitions, stored);
            }
            else if (roll < 0.10)
            {
                Log("fail after dead letters");
                writer.Warehouse.NextTransactionFault = InterceptingWarehouse.Fault.BeforeCommit;
                Assert.Null(await writer.Batches.WriteAsync(batch.Pending, retry: false, CancellationToken.None));
                Rewind(writer, batch.Partitions, await StoredOffsetsAsync());
            }
            else if (roll < 0.13)
            {
                Log("commit unheard");
                writer.Warehouse.NextTransactionFault = InterceptingWarehouse.Fault.AfterCommit;
                await WriteAsync(writer, batch);
            }
            else if (roll < 0.30 && other is not null && HasUnread(other))
            {
                // The other writer writes a whole batch between this writer's reads and its transaction.
                Log("overtaken");
                var overtaking = Read(other);
                writer.Warehouse.BeforeNextTransaction = () => WriteAsync(other, overtaking);
                await WriteAsync(writer, batch);
            }
            else if (roll < 0.36 && other is not null && batch.Partitions.Count > 0)
            {
                // A rebalance while the batch is in hand: one of its partitions moves to the other writer, which
                // resumes where the warehouse says and writes first; this writer then writes its batch late.
                var moved = batch.Partitions[_random.Next(batch.Partitions.Count)];
                Log($"p{moved} moves to w{other.Id}");
                _owner[moved] = other.Id;
                _position[moved] = (await StoredOffsetsAsync()).GetValueOrDefault(moved);
                if (HasUnread(other))
                {
                    await WriteAsync(other, Read(other));
                }

                await WriteAsync(writer, batch);
            }
            else if (roll < 0.50 && _path == IngestionWritePath.Direct && HasUnread(writer))
            {
                await WritePipelinedAsync(writer, other, batch, Read(writer));
            }
            else
            {
                await WriteAsync(writer, batch);
            }
        }
    }

    /// <summary>
    /// Two batches as the service writes them where batches are pipelined: the second planned and staged on top of the
    /// first while the first's transaction runs (held until it is), and run only once the first committed with that
    /// plan. Either may be overtaken by another writer's batch, and the first may fail or commit unheard (it is then
    /// retried, and the second's preparation let go). Unhindered, the prepared second batch must run.
    /// </summary>
    private async Task WritePipelinedAsync(
        IngestionWriter writer, IngestionWriter? other, (PendingBatch Pending, List<int> Partitions) first, (PendingBatch Pending, List<int> Partitions) second)
    {
        var roll = _random.NextDouble();
        var schedule = roll switch
        {
            < 0.15 when other is not null && HasUnread(other) => "the first overtaken",
            < 0.30 when other is not null && HasUnread(other) => "the second overtaken",
            < 0.40 => "the first fails",
            < 0.50 => "the first's commit unheard",
            _ => "plain",
        };
        Log($"w{writer.Id} writes pipelined: {schedule}");
        switch (schedule)
        {
            case "the first overtaken":
                var overtakingFirst = Read(other!);
                writer.Warehouse.BeforeNextTransaction = () => WriteAsync(other!, overtakingFirst);
                break;
            case "the second overtaken":
                var overtakingSecond = Read(other!);
                writer.Warehouse.TransactionsBeforeHook = 1;
                writer.Warehouse.BeforeNextTransaction = () => WriteAsync(other!, overtakingSecond);
                break;
            case "the first fails":
                writer.Warehouse.NextTransactionFault = InterceptingWarehouse.Fault.BeforeCommit;
                break;
            case "the first's commit unheard":
                writer.Warehouse.NextTransactionFault = InterceptingWarehouse.Fault.AfterCommit;
                break;
        }

        // Each batch is staged apart from its transaction: the first before its own, the second beside it.
        var prepared = writer.Warehouse.PreparedTransactions;
        var writes = writer.Warehouse.Writes;
        writer.Warehouse.HoldNextTransaction = () => writer.Warehouse.WaitForPreparedAsync(prepared + 2, TimeSpan.FromSeconds(30));
        using var earlier = writer.Batches.Start(first.Pending, retry: true);
        using var later = writer.Batches.Start(second.Pending, retry: true, after: earlier);
        earlier.AbandonAfter(BatchDeadline);
        later.AbandonAfter(BatchDeadline);
        var stored = await earlier.Completion is not null && await later.Completion is not null;
        // A hook the second did not reach (the first's retries ran it instead) must not fall on a later batch.
        writer.Warehouse.HoldNextTransaction = null;
        writer.Warehouse.TransactionsBeforeHook = 0;
        writer.Warehouse.BeforeNextTransaction = null;
        writer.Warehouse.NextTransactionFault = InterceptingWarehouse.Fault.None;
        if (!stored)
        {
            throw new InvalidOperationException($"writer {writer.Id} could not write two pipelined batches within {BatchDeadline.TotalSeconds} s");
        }

        var ran = later.StoredAsPreparedBeside;
        Log($"{(ran ? "the second ran as prepared" : "the second was prepared again")}, {writer.Warehouse.Writes - writes} transactions");
        // Two transactions or fewer (the first not refused, e.g. as stale after an earlier step's rebalance): the second
        // must have run as it was prepared beside the first.
        if (schedule == "plain" && !ran && writer.Warehouse.Writes - writes <= 2)
        {
            throw new InvalidOperationException($"writer {writer.Id}'s second pipelined batch was not run as prepared beside the first");
        }
    }

    /// <summary>
    /// One modelling cycle of <paramref name="writer"/>, under a random schedule: plain; overtaken by another writer's
    /// cycle between its reads and its transaction; or failing before its transaction or after its commit. A cycle that
    /// fails or is refused leaves the landed rows for a later one.
    /// </summary>
    private async Task ModelAsync(IngestionWriter writer, IngestionWriter? other)
    {
        var roll = _random.NextDouble();
        if (roll < 0.25 && other is not null)
        {
            Log($"w{writer.Id} models, overtaken by w{other.Id}");
            writer.Warehouse.BeforeNextTransaction = () => TryModelAsync(other);
        }
        else if (roll < 0.35)
        {
            Log($"w{writer.Id} models, fails");
            writer.Warehouse.NextTransactionFault = InterceptingWarehouse.Fault.BeforeCommit;
        }
        else if (roll < 0.45)
        {
            Log($"w{writer.Id} models, commit unheard");
            writer.Warehouse.NextTransactionFault = InterceptingWarehouse.Fault.AfterCommit;
        }
        else if (roll < 0.75)
        {
            await ModelPipelinedAsync(writer, other);
            return;
        }
        else
        {
            Log($"w{writer.Id} models");
        }

        await TryModelAsync(writer);
        // A hook the cycle did not reach (it found nothing landed) must not fall on the writer's next landing.
        writer.Warehouse.BeforeNextTransaction = null;
        writer.Warehouse.NextTransactionFault = InterceptingWarehouse.Fault.None;
    }

    /// <summary>
    /// Two cycles as the modelling service runs them: the second read, planned and staged on top of the first before
    /// the first's transaction runs, and run only if the first committed as far as the writer knows. Either may be
    /// overtaken by another writer's cycle, and the first may fail or commit unheard.
    /// </summary>
    private async Task ModelPipelinedAsync(IngestionWriter writer, IngestionWriter? other)
    {
        ModellingCycle? first, second;
        try
        {
            first = await writer.Modeller.PrepareAsync(null, CancellationToken.None);
            if (first is null)
            {
                Log($"w{writer.Id} models pipelined: nothing waiting");
                return;
            }

            second = await writer.Modeller.PrepareAsync(first, CancellationToken.None);
        }
        catch (Exception ex) when (ex is StaleReadException or IOException)
        {
            return;
        }

        var roll = _random.NextDouble();
        var schedule = roll switch
        {
            < 0.15 when other is not null => "the first overtaken",
            < 0.30 when other is not null => "the second overtaken",
            < 0.40 => "the first fails",
            < 0.50 => "the first's commit unheard",
            _ => "plain",
        };
        Log($"w{writer.Id} models pipelined ({first.Count} then {(second is null ? "nothing prepared" : second.Count)}): {schedule}");
        switch (schedule)
        {
            case "the first overtaken":
                writer.Warehouse.BeforeNextTransaction = () => TryModelAsync(other!);
                break;
            case "the first fails":
                writer.Warehouse.NextTransactionFault = InterceptingWarehouse.Fault.BeforeCommit;
                break;
            case "the first's commit unheard":
                writer.Warehouse.NextTransactionFault = InterceptingWarehouse.Fault.AfterCommit;
                break;
        }

        try
        {
            await writer.Modeller.WriteAsync(first, CancellationToken.None);
        }
        catch (Exception ex) when (ex is StaleReadException or IOException)
        {
            second?.Discard();
            return;
        }

        if (second is null)
        {
            return;
        }

        if (schedule == "the second overtaken")
        {
            writer.Warehouse.BeforeNextTransaction = () => TryModelAsync(other!);
        }

        try
        {
            await writer.Modeller.WriteAsync(second, CancellationToken.None);
        }
        catch (Exception ex) when (ex is StaleReadException or IOException)
        {
            // Refused: its rows wait for a later cycle.
        }
        finally
        {
            writer.Warehouse.BeforeNextTransaction = null;
        }
    }

    private static async Task<int> TryModelAsync(IngestionWriter writer)
    {
        try
        {
            return await writer.Modeller.ModelOnceAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is StaleReadException or IOException)
        {
            return -1;
        }
    }

    /// <summary>Once everything has landed: modelling cycles of random writers until one finds nothing waiting.</summary>
    private async Task ModelEverythingAsync()
    {
        for (var cycle = 0; ; cycle++)
        {
            if (cycle > 5_000)
            {
                throw new InvalidOperationException("the landed orders were not modelled after 5,000 cycles");
            }

            var writer = _writers[_random.Next(_writers.Count)];
            Log($"w{writer.Id} models");
            if (await TryModelAsync(writer) == 0)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The landing layer's own account: every landed row modelled once, and each stored order the outcome NEW of exactly
    /// one landed row (redeliveries and conflicts are the others), so that an analyst auditing the landing finds the facts.
    /// </summary>
    private async Task<IReadOnlyList<string>> CompareLandedOutcomesAsync()
    {
        var differences = new List<string>();
        var waiting = await _bed.QueryAsync(
            "SELECT COUNT(*) FROM LANDED_ORDERS AS l WHERE l.SOURCE_TOPIC = ? AND NOT EXISTS (SELECT 1 FROM LANDED_OUTCOMES AS o " +
            "WHERE o.LANDING_ID = l.LANDING_ID AND o.SOURCE_PARTITION = l.SOURCE_PARTITION AND o.SOURCE_OFFSET = l.SOURCE_OFFSET)", [Topic]);
        if (Convert.ToInt64(waiting[0][0], CultureInfo.InvariantCulture) != 0)
        {
            differences.Add($"LANDED_ORDERS has {waiting[0][0]} rows not modelled");
        }

        var newIds = (await _bed.QueryAsync(
                "SELECT l.ORDER_ID FROM LANDED_OUTCOMES AS o JOIN LANDED_ORDERS AS l ON o.LANDING_ID = l.LANDING_ID AND o.SOURCE_TOPIC = l.SOURCE_TOPIC " +
                "AND o.SOURCE_PARTITION = l.SOURCE_PARTITION AND o.SOURCE_OFFSET = l.SOURCE_OFFSET WHERE o.SOURCE_TOPIC = ? AND o.OUTCOME = 'NEW'", [Topic]))
            .Select(r => (string)r[0]!).Order(StringComparer.Ordinal).ToArray();
        var factIds = (await _bed.QueryAsync("SELECT ORDER_ID FROM FACT_ORDERS WHERE SOURCE_TOPIC = ?", [Topic]))
            .Select(r => (string)r[0]!).Order(StringComparer.Ordinal).ToArray();
        if (!newIds.SequenceEqual(factIds, StringComparer.Ordinal))
        {
            differences.Add($"LANDED_ORDERS marks {newIds.Length} rows NEW ({newIds.Distinct(StringComparer.Ordinal).Count()} ids) for {factIds.Length} stored orders");
        }

        var twice = await _bed.QueryAsync(
            "SELECT COUNT(*) FROM (SELECT 1 FROM LANDED_OUTCOMES WHERE SOURCE_TOPIC = ? GROUP BY LANDING_ID, SOURCE_PARTITION, SOURCE_OFFSET HAVING COUNT(*) > 1) AS t", [Topic]);
        if (Convert.ToInt64(twice[0][0], CultureInfo.InvariantCulture) != 0)
        {
            differences.Add($"LANDED_OUTCOMES has {twice[0][0]} landed rows with more than one outcome");
        }

        return differences;
    }

    private bool HasUnread(IngestionWriter writer) =>
        Enumerable.Range(0, _owner.Length).Any(p => _owner[p] == writer.Id && _position[p] < _stream.Partitions[p].Count);

    /// <summary>Reads up to a random number of events from the writer's partitions, each partition in offset order.</summary>
    private (PendingBatch Pending, List<int> Partitions) Read(IngestionWriter writer)
    {
        var batch = new PendingBatch();
        var partitions = new List<int>();
        var size = _random.Next(1, _maxBatch + 1);
        for (var i = 0; i < size; i++)
        {
            var open = Enumerable.Range(0, _owner.Length).Where(p => _owner[p] == writer.Id && _position[p] < _stream.Partitions[p].Count).ToArray();
            if (open.Length == 0)
            {
                break;
            }

            var partition = open[_random.Next(open.Length)];
            var offset = _position[partition]++;
            var record = _stream.Partitions[partition][(int)offset];
            IngestionWriter.Read(batch, Topic, partition, offset, record.Key, record.Value);
            if (!partitions.Contains(partition))
            {
                partitions.Add(partition);
            }
        }

        Log($"w{writer.Id} reads {batch.Count}");
        return (batch, partitions);
    }

    private static async Task WriteAsync(IngestionWriter writer, (PendingBatch Pending, List<int> Partitions) batch)
    {
        using var deadline = new CancellationTokenSource(BatchDeadline);
        var progress = await writer.Batches.WriteAsync(batch.Pending, retry: true, deadline.Token);
        if (progress is null)
        {
            throw new InvalidOperationException($"writer {writer.Id} could not write a batch of {batch.Pending.Count} events within {BatchDeadline.TotalSeconds} s");
        }
    }

    private void Rewind(IngestionWriter writer, IEnumerable<int> partitions, IReadOnlyDictionary<int, long> stored)
    {
        foreach (var partition in partitions.Where(p => _owner[p] == writer.Id))
        {
            _position[partition] = stored.GetValueOrDefault(partition);
        }
    }

    private async Task<Dictionary<int, long>> StoredOffsetsAsync() =>
        (await _bed.Writer.ReadOffsetsAsync(Topic, CancellationToken.None)).ToDictionary(o => o.Partition, o => o.NextOffset);

    private void Log(string what) => _schedule.Append(what).Append("; ");

    /// <summary>The most writers a run has.</summary>
    public const int MaxWriters = 4;

    /// <summary>Runs a test with the dead-letter publishers its writers need (one per writer), disposed after it.</summary>
    public static async Task WithPublishersAsync(string bootstrapServers, Func<IReadOnlyList<DeadLetterPublisher>, Task> test)
    {
        ArgumentNullException.ThrowIfNull(test);
        using var meters = new TestMeters();
        var publishers = CreatePublishers(bootstrapServers, new(meters.Factory));
        try
        {
            await test(publishers);
        }
        finally
        {
            foreach (var publisher in publishers)
            {
                publisher.Dispose();
            }
        }
    }

    /// <summary>Dead-letter publishers for the writers of runs, to <c>orders.dlq</c> of a broker.</summary>
    public static IReadOnlyList<DeadLetterPublisher> CreatePublishers(string bootstrapServers, KafkaClientMetrics metrics) =>
        Enumerable.Range(0, MaxWriters).Select(_ =>
        {
            var settings = new KafkaProducerSettings { DisableMetrics = true };
            settings.Config.BootstrapServers = bootstrapServers;
            return new DeadLetterPublisher(new KafkaProducerFactory<byte[]?, byte[]?>(settings, metrics, NullLoggerFactory.Instance),
                Options.Create(new IngestionOptions { DeadLetterTopic = DeadLetterTopic }), TimeProvider.System);
        }).ToArray();
}
