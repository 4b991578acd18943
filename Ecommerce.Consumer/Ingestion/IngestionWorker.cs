using System.Diagnostics;
using Confluent.Kafka;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.ServiceDefaults.Messaging;
using Microsoft.Extensions.Options;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// Reads orders from Kafka and writes them to the warehouse exactly once. Events are gathered into batches
/// (<c>MaxBatchSize</c> events or <c>MaxBatchDelay</c>, whichever comes first); each batch's dead letters are
/// acknowledged, then its rows and partition offsets are written in one warehouse transaction, and only then
/// are the offsets committed to Kafka. A failed write is retried, never skipped.
/// </summary>
public sealed partial class IngestionWorker(
    KafkaConsumerFactory<byte[]?, byte[]?> consumers,
    StarSchemaWriter writer,
    DeadLetterPublisher deadLetters,
    PartitionResumer resumer,
    IngestionStatus status,
    IngestionMetrics metrics,
    IOptions<IngestionOptions> options,
    TimeProvider time,
    ILogger<IngestionWorker> logger) : BackgroundService
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(15);

    private readonly IngestionOptions _options = options.Value;
    private readonly PendingBatch _batch = new();
    private IConsumer<byte[]?, byte[]?>? _consumer;
    private readonly Dictionary<TopicPartition, long?> _committed = [];
    private bool _flushing;
    private long _lagReportedAt;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The schema is applied before the service reports started, so a wrong or unwritable warehouse fails the
        // start-up with its own error instead of surfacing later as a stuck consumer.
        await writer.EnsureSchemaAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // librdkafka's Consume blocks; the loop gets a thread of its own instead of holding a pool thread.
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        try
        {
            using var consumer = consumers.Create(
                config =>
                {
                    config.GroupId = _options.GroupId;
                    config.EnableAutoCommit = false;
                    config.EnableAutoOffsetStore = false;
                    config.AutoOffsetReset = AutoOffsetReset.Earliest;
                    // A fetch may be held this long when a partition has no new data. librdkafka's 500 ms default
                    // would dominate end-to-end latency next to a 200 ms batch delay; an idle consumer pays a few
                    // more fetch requests per second for it.
                    config.FetchWaitMaxMs ??= 50;
                    config.ClientId ??= "ecommerce-consumer";
                },
                builder => builder
                    .SetPartitionsAssignedHandler(OnAssigned)
                    .SetPartitionsRevokedHandler(OnRevoked)
                    .SetPartitionsLostHandler(OnLost));
            _consumer = consumer;
            consumer.Subscribe(_options.Topic);
            LogStarted(_options.Topic, _options.GroupId, _options.MaxBatchSize, _options.MaxBatchDelay.TotalMilliseconds, writer.SystemName);

            while (!stoppingToken.IsCancellationRequested)
            {
                var record = Consume(consumer, PollTimeout());
                if (record is { IsPartitionEOF: false })
                {
                    _batch.Add(record, time.GetTimestamp());
                }

                if (_batch.Count >= _options.MaxBatchSize || (!_batch.IsEmpty && BatchAge() >= _options.MaxBatchDelay))
                {
                    Flush(consumer, retry: true, giveUpAfter: null, stoppingToken);
                }

                ReportLag(consumer);
            }

            // Stopping: write what was read (retrying within the host's shutdown window), commit, leave the group.
            Flush(consumer, retry: true, giveUpAfter: TimeSpan.FromSeconds(20), CancellationToken.None);
            consumer.Close();
            LogStopped(status.Ingested, status.Batches);
        }
        catch (Exception ex)
        {
            status.SetFailed(ex.Message);
            LogFailed(ex);
            Environment.ExitCode = 1; // The host stops when a background service fails; say so to whoever restarts it.
            throw;
        }
        finally
        {
            _consumer = null;
        }
    }

    private ConsumeResult<byte[]?, byte[]?>? Consume(IConsumer<byte[]?, byte[]?> consumer, TimeSpan timeout)
    {
        try
        {
            return consumer.Consume(timeout);
        }
        catch (ConsumeException ex) when (!ex.Error.IsFatal)
        {
            // Broker-side trouble (a partition leader moving, a connection dropped): librdkafka recovers by itself.
            LogConsumeError(ex.Error.Code, ex.Error.Reason);
            return null;
        }
    }

    private TimeSpan PollTimeout()
    {
        if (_batch.IsEmpty)
        {
            return IdlePoll;
        }

        var remaining = _options.MaxBatchDelay - BatchAge();
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    private TimeSpan BatchAge() => time.GetElapsedTime(_batch.StartedAt);

    /// <summary>
    /// Writes the pending batch. With <paramref name="retry"/>, a failure is retried with backoff until it succeeds,
    /// the batch is abandoned by a rebalance, or <paramref name="giveUpAfter"/> passes; the Kafka offsets move only
    /// after a successful write, so an abandoned batch is simply read again by whoever owns its partitions next.
    /// </summary>
    private void Flush(IConsumer<byte[]?, byte[]?> consumer, bool retry, TimeSpan? giveUpAfter, CancellationToken stoppingToken)
    {
        if (_batch.IsEmpty || _flushing)
        {
            return;
        }

        _flushing = true;
        try
        {
            var started = time.GetTimestamp();
            var delay = FirstRetryDelay;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    WriteBatch(consumer);
                    status.SetDegraded(null);
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    status.SetDegraded(ex.Message);
                    var givingUp = !retry || stoppingToken.IsCancellationRequested
                        || (giveUpAfter is { } limit && time.GetElapsedTime(started) >= limit);
                    LogWriteFailed(ex, _batch.Count, attempt, givingUp ? "abandoning it; it will be read again" : $"retrying in {delay.TotalSeconds:F1} s");
                    if (givingUp)
                    {
                        _batch.Clear();
                        return;
                    }

                    WaitWhilePaused(consumer, delay, stoppingToken);
                    if (_batch.IsEmpty)
                    {
                        return; // A rebalance during the wait abandoned the batch.
                    }

                    delay = TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, delay.TotalMilliseconds * 2 * (0.8 + (Random.Shared.NextDouble() * 0.4))));
                }
            }
        }
        finally
        {
            _flushing = false;
        }
    }

    private void WriteBatch(IConsumer<byte[]?, byte[]?> consumer)
    {
        // Batch processing links to the span of every order in the batch (the messaging conventions for batches), and
        // continues the trace of the first one, so that a trace on the dashboard runs from simulator to warehouse.
        var links = _batch.ProducerLinks().ToList();
        using var activity = KafkaTracing.Source.StartActivity(
            $"process {_options.Topic}", ActivityKind.Consumer, parentContext: links.FirstOrDefault().Context, links: links);
        activity?.SetTag("messaging.system", "kafka");
        activity?.SetTag("messaging.operation.type", "process");
        activity?.SetTag("messaging.destination.name", _options.Topic);
        activity?.SetTag("messaging.consumer.group.name", _options.GroupId);
        activity?.SetTag("messaging.batch.message_count", _batch.Count);

        try
        {
            var classification = writer.ClassifyAsync(_batch.Orders, CancellationToken.None).GetAwaiter().GetResult();
            if (!_batch.DeadLettersSent)
            {
                var refused = _batch.DeadLetters
                    .Concat(classification.Conflicts.Select(order => new DeadLetter(_batch.RecordOf(order),
                        new Rejection(Rejection.ConflictCode, $"order '{order.Order.OrderId}' was already ingested with different content; the first version is kept"))))
                    .ToArray();
                deadLetters.PublishAsync(refused, CancellationToken.None).GetAwaiter().GetResult();
                _batch.DeadLettersSent = true;
            }

            var writeStarted = time.GetTimestamp();
            var progress = _batch.Progress();
            BatchWriteResult result;
            using (var write = KafkaTracing.Source.StartActivity("MERGE FACT_ORDERS", ActivityKind.Client))
            {
                write?.SetTag("db.system.name", writer.SystemName);
                write?.SetTag("db.operation.name", "MERGE");
                write?.SetTag("db.collection.name", "FACT_ORDERS");
                write?.SetTag("db.operation.batch.size", classification.New.Count);
                result = writer.WriteAsync(classification.New, progress, CancellationToken.None).GetAwaiter().GetResult();
                write?.SetTag("ecommerce.rows.orders", result.OrdersInserted);
                write?.SetTag("ecommerce.rows.customer_versions", result.CustomerVersionsWritten);
                write?.SetTag("ecommerce.rows.products", result.ProductsWritten);
                write?.SetTag("ecommerce.rows.dates", result.DatesWritten);
            }

            var writeDuration = time.GetElapsedTime(writeStarted);
            CommitToKafka(consumer, progress);
            Record(classification, writeDuration);
            activity?.SetTag("ecommerce.ingested", classification.New.Count);
            activity?.SetTag("ecommerce.duplicates", classification.Duplicates.Count);
            activity?.SetTag("ecommerce.dead_lettered", _batch.DeadLetters.Count + classification.Conflicts.Count);
            _batch.Clear();
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }

    private void CommitToKafka(IConsumer<byte[]?, byte[]?> consumer, IReadOnlyList<PartitionProgress> progress)
    {
        var offsets = progress.Select(p => new TopicPartitionOffset(p.Topic, p.Partition, p.NextOffset)).ToArray();
        try
        {
            consumer.Commit(offsets);
        }
        catch (KafkaException ex)
        {
            // The warehouse already holds these offsets and is what ingestion resumes from; a failed Kafka commit
            // only makes tools that read the group's offsets show an older position.
            LogCommitFailed(ex.Error.Code, ex.Error.Reason);
        }

        foreach (var partition in progress)
        {
            var topicPartition = new TopicPartition(partition.Topic, partition.Partition);
            _committed[topicPartition] = partition.NextOffset;
            var high = consumer.GetWatermarkOffsets(topicPartition).High.Value;
            status.SetPartition(new PartitionStatus(partition.Topic, partition.Partition, partition.NextOffset, high >= 0 ? high : null));
        }
    }

    /// <summary>
    /// Publishes, about once a second, each assigned partition's committed offset and the broker's high watermark as
    /// last seen by the client (no broker round trip), so lag shows for idle partitions too.
    /// </summary>
    private void ReportLag(IConsumer<byte[]?, byte[]?> consumer)
    {
        if (time.GetElapsedTime(_lagReportedAt) < TimeSpan.FromSeconds(1))
        {
            return;
        }

        _lagReportedAt = time.GetTimestamp();
        foreach (var partition in consumer.Assignment)
        {
            var watermarks = consumer.GetWatermarkOffsets(partition);
            var committed = _committed.GetValueOrDefault(partition) ?? (watermarks.Low.Value >= 0 ? watermarks.Low.Value : null);
            status.SetPartition(new PartitionStatus(partition.Topic, partition.Partition.Value, committed,
                watermarks.High.Value >= 0 ? watermarks.High.Value : null));
        }
    }

    private void Record(BatchClassification classification, TimeSpan writeDuration)
    {
        var now = time.GetUtcNow();
        var conflicts = classification.Conflicts.Count;
        var invalid = _batch.DeadLetters.Count;
        status.RecordBatch(_batch.Count, classification.New.Count, classification.Duplicates.Count, conflicts, invalid + conflicts, now);
        metrics.RecordBatch(_batch.Count, writeDuration);
        metrics.RecordEvents("ingested", classification.New.Count);
        metrics.RecordEvents("duplicate", classification.Duplicates.Count);
        metrics.RecordEvents("conflict", conflicts, Rejection.ConflictCode);
        foreach (var group in _batch.DeadLetters.GroupBy(d => d.Rejection.Code))
        {
            metrics.RecordEvents("dead_lettered", group.Count(), group.Key);
        }

        foreach (var incoming in classification.New)
        {
            var order = incoming.Order;
            metrics.RecordOrder(now.UtcDateTime - order.OrderTimestamp, order.Category, order.Price * order.Quantity, order.Quantity);
        }
    }

    /// <summary>
    /// Waits before a retry while still polling Kafka, with the assigned partitions paused: the consumer stays in
    /// its group (no max.poll.interval eviction) without reading further, and rebalance callbacks still run.
    /// </summary>
    private void WaitWhilePaused(IConsumer<byte[]?, byte[]?> consumer, TimeSpan delay, CancellationToken stoppingToken)
    {
        var paused = consumer.Assignment.ToArray();
        consumer.Pause(paused);
        try
        {
            var until = time.GetTimestamp();
            while (time.GetElapsedTime(until) < delay && !stoppingToken.IsCancellationRequested && !_batch.IsEmpty)
            {
                var record = Consume(consumer, TimeSpan.FromMilliseconds(100));
                if (record is { IsPartitionEOF: false })
                {
                    // Only a partition assigned by a rebalance (which abandoned the batch) can deliver now.
                    _batch.Add(record, time.GetTimestamp());
                    return;
                }
            }
        }
        finally
        {
            consumer.Resume(consumer.Assignment.Intersect(paused).ToArray());
        }
    }

    private IEnumerable<TopicPartitionOffset> OnAssigned(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> partitions)
    {
        var starts = resumer.ChooseStartOffsets(consumer, partitions);
        foreach (var start in starts)
        {
            _committed[start.TopicPartition] = start.Offset.Value >= 0 ? start.Offset.Value : null;
            status.SetPartition(new PartitionStatus(start.Topic, start.Partition.Value, _committed[start.TopicPartition], null));
        }

        LogAssigned(string.Join(", ", starts.Select(s => $"{s.Partition.Value}@{Describe(s.Offset)}")));
        return starts;
    }

    private void OnRevoked(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        // Give the batch one chance to land while the partitions are still ours; otherwise drop it: the next owner
        // resumes from the warehouse's offsets and reads those events again.
        if (!_flushing)
        {
            Flush(consumer, retry: false, giveUpAfter: null, CancellationToken.None);
        }

        _batch.Clear();
        Forget(partitions);
        LogRevoked(partitions.Count);
    }

    private void OnLost(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        // Lost partitions may already belong to someone else: writing now could only duplicate their work.
        _batch.Clear();
        Forget(partitions);
        LogLost(partitions.Count);
    }

    private void Forget(List<TopicPartitionOffset> partitions)
    {
        foreach (var partition in partitions)
        {
            _committed.Remove(partition.TopicPartition);
        }

        status.RemovePartitions(partitions.Select(p => p.Partition.Value));
    }

    private static string Describe(Offset offset) =>
        offset == Offset.Beginning ? "beginning" : offset == Offset.Stored ? "committed" : offset.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingesting {Topic} in group {GroupId}: batches of up to {MaxBatchSize} events or {MaxBatchDelayMs} ms into {Warehouse}")]
    private partial void LogStarted(string topic, string groupId, int maxBatchSize, double maxBatchDelayMs, string warehouse);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partitions assigned, resuming at: {Positions}")]
    private partial void LogAssigned(string positions);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} partitions revoked")]
    private partial void LogRevoked(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} partitions lost; the pending batch was dropped and will be read again by their new owner")]
    private partial void LogLost(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing a batch of {Count} events failed (attempt {Attempt}); {Next}")]
    private partial void LogWriteFailed(Exception exception, int count, int attempt, string next);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Committing offsets to Kafka failed ({Code}: {Reason}); the warehouse holds them and ingestion resumes from there")]
    private partial void LogCommitFailed(ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka consume error {Code}: {Reason}")]
    private partial void LogConsumeError(ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingestion stopped after {Ingested} orders in {Batches} batches")]
    private partial void LogStopped(long ingested, long batches);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Ingestion stopped on an unexpected error")]
    private partial void LogFailed(Exception exception);
}
