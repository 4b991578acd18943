using System.Diagnostics;
using Confluent.Kafka;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.ServiceDefaults;
using Ecommerce.ServiceDefaults.Messaging;
using Microsoft.Extensions.Options;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// Reads orders from Kafka and writes them to the warehouse exactly once, in stages:
/// <list type="number">
/// <item><b>read</b>: <see cref="Consume"/> takes the next record (from where <see cref="PartitionResumer"/> said to
/// start each partition);</item>
/// <item><b>validate</b>: <see cref="ValidatedRecord.Of"/> (with <see cref="OrderValidator"/>) makes it an order or a
/// rejection, and <see cref="PendingBatch"/> gathers both (<c>MaxBatchSize</c> events or <c>MaxBatchDelay</c>,
/// whichever comes first; a batch due while the previous one is still being written grows on until that write ends
/// or it is full, or, where batches are pipelined, until the time to write it after that one);</item>
/// <item><b>classify and write</b>: <see cref="BatchWriter"/> asks <see cref="StarSchemaWriter"/> which orders are new,
/// duplicates or conflicts, sends the rejections and conflicts to the dead-letter topic
/// (<see cref="DeadLetterPublisher"/>), and stores the new orders with the partitions' resume points in one
/// warehouse transaction;</item>
/// <item><b>commit</b>: <see cref="StoreOffsets"/> hands the batch's offsets to the Kafka client, only after that
/// transaction, and the client commits them to the consumer group in the background.</item>
/// </list>
/// A batch is written while the next one is read: one batch in flight at a time, so batches land in order. Where
/// batches are pipelined (<see cref="BatchWriter.Pipelines"/>, Snowflake), two: the next one is planned and staged while
/// the one before it runs its transaction, and its own runs only once that one committed.
/// </summary>
public sealed partial class IngestionWorker(
    KafkaConsumerFactory<byte[]?, byte[]?> consumers,
    StarSchemaWriter writer,
    BatchWriter batches,
    PartitionResumer resumer,
    UpstreamGapReporter gaps,
    IngestionStatus status,
    IOptions<IngestionOptions> options,
    TimeProvider time,
    ILogger<IngestionWorker> logger,
    int consumerNumber) : BackgroundService
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan BusyPoll = TimeSpan.FromMilliseconds(10);
    private static readonly WritePatience RevokePatience = WritePatience.UpTo(TimeSpan.FromSeconds(10));
    private static readonly TimeSpan MaxQuietWait = TimeSpan.FromSeconds(30);
    // At a stop, the writes get 20 s in all and leaving the group 5 s: within the host's 30 s shutdown window.
    private static readonly TimeSpan ShutdownWrites = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan ClosePatience = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CommitWarningInterval = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(30);

    private readonly IngestionOptions _options = options.Value;
    private readonly Dictionary<TopicPartition, long?> _committed = [];
    private readonly Dictionary<TopicPartition, long> _expected = [];

    /// <summary>The consume loop's CPU, for CpuByStage (the loop runs on one thread).</summary>
    private readonly CpuByStage.LoopTimer _loopCpu = new();
    private readonly Dictionary<TopicPartition, (long Next, long Since)> _stallWatch = [];
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan JoinPatience = TimeSpan.FromSeconds(20);
    private long _subscribedAt;
    private bool _assignedOnce;
    private bool _joinWarned;
    private PendingBatch _batch = null!;
    private BatchWrite? _inFlight;
    private BatchWrite? _following; // Written after _inFlight, where batches are pipelined.
    private readonly PipelineTimings _timings = new();
    private bool _inRebalance;
    private TimeSpan _quietWait = MaxQuietWait;
    private ConsumerConfig _config = new();
    private long _lagReportedAt;
    private long _progressLoggedAt;
    private long _progressIngested;
    private long _commitWarnedAt;

    /// <summary>The consumer's number in the process, and its static member id if it has one.</summary>
    private string ConsumerName => _options.GroupInstanceIdOf(consumerNumber) is { } id ? $"{consumerNumber} ({id})" : $"{consumerNumber}";

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The schema is applied before the service reports started, so a wrong or unwritable warehouse fails the
        // start-up with its own error instead of surfacing later as a stuck consumer.
        try
        {
            await writer.EnsureSchemaAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not (InvalidConfigurationException or OperationCanceledException))
        {
            // E.g. a Snowflake role without CREATE TABLE on the schema: say so in one line, with the warehouse's words.
            throw new InvalidConfigurationException($"The {writer.SystemName} warehouse could not be prepared (sql/schema): {ex.Message}", ex);
        }

        await base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // librdkafka's Consume blocks; the loop gets a thread of its own instead of holding a pool thread.
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        // Named (instead of the runtime's ".NET Long Running Task") so that its CPU can be told apart in /proc and profiles.
        Thread.CurrentThread.Name = $"ingest-read-{consumerNumber}";
        IConsumer<byte[]?, byte[]?>? consumer = null;
        var stillClosing = false;
        try
        {
            _batch = NewBatch();
            consumer = consumers.Create(
                config =>
                {
                    GroupMembership.Apply(config, _options, consumerNumber);
                    _config = config;
                    // Offsets are stored only after the warehouse transaction that holds them (StoreOffsets) and
                    // committed by the client in the background, every AutoCommitIntervalMs (5 s by default), on a
                    // revocation and on close. A synchronous commit would stop the loop while Kafka is unreachable:
                    // 45 s per batch with the consumer group protocol, measured against the embedded broker.
                    config.EnableAutoCommit = true;
                    config.EnableAutoOffsetStore = false;
                    // Where a position retention deleted resumes. Never silently: the jump is seen in Accept.
                    config.AutoOffsetReset = AutoOffsetReset.Earliest;
                    // A fetch may be held this long when a partition has no new data. librdkafka's 500 ms default
                    // would dominate end-to-end latency next to a 200 ms batch delay; an idle consumer pays a few
                    // more fetch requests per second for it.
                    config.FetchWaitMaxMs ??= 50;
                    // Prefetched records wait here until a batch takes them; librdkafka's 64 MB default is several
                    // full batches' worth, held for nothing. 16 MB keeps the fetcher ahead of the writer.
                    config.QueuedMaxMessagesKbytes ??= 16 * 1024;
                    config.ClientId ??= "ecommerce-consumer";
                    // Only the headers (the producer's trace context, kept on dead letters) are read from each message
                    // beyond its key, value and position: the one topic subscribed to is filled in by Consume below, and
                    // the message's timestamp is never used. Each is a call into librdkafka per message, the topic a
                    // string too. (The configuration cannot set this one: it has no getter for the binder.)
                    config.ConsumeResultFields = "headers";
                    // A write is waited for without polling for at most a third of the time the group allows between polls.
                    _quietWait = TimeSpan.FromMilliseconds(Math.Min(MaxQuietWait.TotalMilliseconds, (config.MaxPollIntervalMs ?? 300_000) / 3.0));
                },
                builder => builder
                    .SetOffsetsCommittedHandler(OnOffsetsCommitted)
                    .SetPartitionsAssignedHandler(OnAssigned)
                    .SetPartitionsRevokedHandler(OnRevoked)
                    .SetPartitionsLostHandler(OnLost));
            consumer.Subscribe(_options.Topic);
            _subscribedAt = time.GetTimestamp();
            LogStarted(ConsumerName, _options.Topic, _options.GroupId, _config.GroupProtocol, _options.MaxBatchSize, _options.MaxBatchDelay.TotalMilliseconds, writer.SystemName);

            while (!stoppingToken.IsCancellationRequested)
            {
                var record = Consume(consumer, PollTimeout());
                if (record is { IsPartitionEOF: false })
                {
                    Accept(consumer, record);
                }

                FinishEnded(consumer);
                WriteWhenDue(consumer);

                ReportLag(consumer);
            }

            // Stopping: finish the write in flight, write what was read, commit, leave the group, all within the
            // host's shutdown window; what cannot be written by then is read again on the next start.
            var stopping = time.GetTimestamp();
            var landed = FinishInFlight(consumer, commit: true, WritePatience.UpTo(ShutdownWrites));
            var left = ShutdownWrites - time.GetElapsedTime(stopping);
            WritePendingAfter(consumer, landed, retry: true, WritePatience.UpTo(left > TimeSpan.Zero ? left : TimeSpan.Zero));

            stillClosing = !LeaveGroup(consumer);
            LogStopped(status.Ingested, status.Batches);
        }
        catch (Exception ex)
        {
            status.SetFailed(ex);
            LogFailed(ex);
            Environment.ExitCode = 1; // The host stops when a background service fails; say so to whoever restarts it.
            throw;
        }
        finally
        {
            if (!stillClosing)
            {
                consumer?.Dispose(); // One still closing on another thread disposes itself if its close ever ends.
            }
        }
    }

    private ConsumeResult<byte[]?, byte[]?>? Consume(IConsumer<byte[]?, byte[]?> consumer, TimeSpan timeout)
    {
        try
        {
            _loopCpu.Turn();
            var record = consumer.Consume(timeout);
            if (record is { Topic: null })
            {
                record.Topic = _options.Topic; // Not read from librdkafka (ConsumeResultFields): the one topic subscribed to.
            }

            return record;
        }
        catch (ConsumeException ex) when (!ex.Error.IsFatal)
        {
            // Broker-side trouble (a partition leader moving, a connection dropped): librdkafka recovers by itself.
            LogConsumeError(ex.Error.Code, ex.Error.Reason);
            return null;
        }
    }

    /// <summary>
    /// Adds a record to the pending batch. A record past the offset expected next means the events in between were
    /// never delivered: if the partition's log now starts after the expected offset, retention deleted them while
    /// ingestion was stopped, paused or behind (the client then resumes at the log start), and that is reported as a
    /// gap. Other jumps (transaction markers, compaction) leave the log start where it was and are not.
    /// </summary>
    private void Accept(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> record)
    {
        var partition = record.TopicPartition;
        if (_expected.TryGetValue(partition, out var expected) && record.Offset.Value > expected)
        {
            try
            {
                var start = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)).Low.Value;
                if (start > expected)
                {
                    gaps.Report(partition.Topic, partition.Partition.Value, expected, Math.Min(start, record.Offset.Value));
                }
            }
            catch (KafkaException ex)
            {
                LogGapUnchecked(partition.Topic, partition.Partition.Value, expected, record.Offset.Value, ex.Error.Reason);
            }
        }

        _expected[partition] = record.Offset.Value + 1;
        var parsing = Stopwatch.GetTimestamp();
        var validated = ValidatedRecord.Of(record, time.GetUtcNow().UtcDateTime + _options.MaxFutureSkew);
        _loopCpu.AddParsing(Stopwatch.GetTimestamp() - parsing);
        _batch.Add(validated, time.GetTimestamp());
    }

    private bool BatchIsFull() => _batch.Count >= _options.MaxBatchSize || _batch.Bytes >= _options.MaxBatchBytes;

    private bool BatchIsDue() => !_batch.IsEmpty && BatchAge() >= _options.MaxBatchDelay;

    private TimeSpan PollTimeout()
    {
        if (_batch.IsEmpty)
        {
            return IdlePoll;
        }

        if (_inFlight is not null && BatchIsDue())
        {
            // Waiting for the write in flight to end (or, where batches are pipelined, for the time to follow it), then
            // this batch goes at once.
            return BusyPoll;
        }

        var remaining = _options.MaxBatchDelay - BatchAge();
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    private static PendingBatch NewBatch() => new();

    private TimeSpan BatchAge() => time.GetElapsedTime(_batch.StartedAt);

    private void StartWrite(PendingBatch batch, bool retry)
    {
        if (batch.IsEmpty)
        {
            return;
        }

        _inFlight = batches.Start(batch, retry, timings: _timings);
    }

    /// <summary>
    /// Starts writing the pending batch when it is due. A batch that is due while the previous one is still being
    /// written keeps growing, up to its limits: with a backlog, batches grow to what the warehouse takes in one write,
    /// and an event waits no longer for it (the write in flight had to end first anyway). Only a full batch waits,
    /// reading nothing more. Where batches are pipelined (Snowflake), the batch is cut while the write in flight runs
    /// its transaction (a full one as soon as that starts: <see cref="BatchWriter.IsTimeToFollow"/>), planned and staged
    /// beside it, and written right after it; at most two writes are in flight.
    /// </summary>
    private void WriteWhenDue(IConsumer<byte[]?, byte[]?> consumer)
    {
        while (BatchIsFull() || BatchIsDue())
        {
            if (_inFlight is null)
            {
                StartWrite(_batch, retry: true);
                _batch = NewBatch();
                return;
            }

            if (!batches.Pipelines)
            {
                if (!BatchIsFull())
                {
                    return;
                }

                FinishInFlight(consumer, commit: true, WritePatience.Unlimited);
                continue;
            }

            if (_following is null && batches.IsTimeToFollow(_inFlight, BatchIsFull()))
            {
                _following = batches.Start(_batch, retry: true, after: _inFlight, timings: _timings);
                _batch = NewBatch();
                return;
            }

            if (!BatchIsFull())
            {
                return;
            }

            WaitPolling(consumer, _following is null ? _inFlight.Followable : _inFlight.Completion);
            FinishEnded(consumer);
        }
    }

    /// <summary>Finishes the writes in flight that have ended, oldest first (see <see cref="FinishOldest"/>).</summary>
    private void FinishEnded(IConsumer<byte[]?, byte[]?> consumer)
    {
        while (_inFlight is { Completion.IsCompleted: true })
        {
            FinishOldest(consumer, commit: true);
        }
    }

    /// <summary>
    /// Takes the oldest write in flight, which has ended, off the list and, if it stored its batch and
    /// <paramref name="commit"/> allows, hands its offsets to the client to commit (<see cref="StoreOffsets"/>).
    /// </summary>
    /// <returns>False when the write was abandoned.</returns>
    private bool FinishOldest(IConsumer<byte[]?, byte[]?> consumer, bool commit)
    {
        var write = _inFlight!;
        _inFlight = _following;
        _following = null;
        write.Dispose();
        var progress = write.Completion.Result;
        if (progress is { Count: > 0 } && commit)
        {
            StoreOffsets(consumer, progress);
        }

        return progress is not null;
    }

    /// <summary>
    /// Waits for the writes in flight (the one written after it too, where batches are pipelined) and, for each that
    /// stored its batch, if <paramref name="commit"/> allows, hands its offsets to the client to commit
    /// (<see cref="StoreOffsets"/>). While waiting on the consume loop, the assigned partitions are paused and the
    /// consumer keeps polling, so it stays in its group through a long warehouse outage without reading further. After
    /// <paramref name="patience"/> the writes are abandoned (their retries stop; they are read again later).
    /// </summary>
    /// <returns>False when the last write was abandoned: then no later event of its partitions may be written before it.</returns>
    private bool FinishInFlight(IConsumer<byte[]?, byte[]?> consumer, bool commit, WritePatience patience)
    {
        if (_inFlight is not { } first)
        {
            return true;
        }

        // A write after another ends after it: when the last one has ended, both have.
        var last = _following ?? first;
        if (!last.Completion.IsCompleted)
        {
            foreach (var write in _following is null ? [first] : new[] { first, _following })
            {
                if (patience.Limit == TimeSpan.Zero)
                {
                    write.AbandonNow();
                }
                else if (patience.Limit is { } limit)
                {
                    write.AbandonAfter(limit);
                }
            }

            WaitPolling(consumer, last.Completion);
            if (!ReferenceEquals(_inFlight, first))
            {
                return true; // A rebalance callback during the wait has already finished them, and dealt with what followed.
            }
        }

        var landed = true;
        while (_inFlight is not null)
        {
            landed = FinishOldest(consumer, commit);
        }

        return landed;
    }

    /// <summary>
    /// Writes the events read after the write that just finished, on revocation or shutdown. If that write was
    /// abandoned, they are dropped instead: their offsets would carry the warehouse's resume point past the abandoned
    /// events, which would then never be read again. Whoever reads the partitions next starts from the warehouse.
    /// </summary>
    private void WritePendingAfter(IConsumer<byte[]?, byte[]?> consumer, bool previousLanded, bool retry, WritePatience patience)
    {
        if (_batch.IsEmpty)
        {
            return;
        }

        if (previousLanded)
        {
            StartWrite(_batch, retry);
            _batch = NewBatch();
            FinishInFlight(consumer, commit: true, patience);
        }
        else
        {
            LogDroppedAfterAbandoned(_batch.Count);
            _batch = NewBatch();
        }
    }

    private void WaitPolling(IConsumer<byte[]?, byte[]?> consumer, Task write)
    {
        // A healthy write takes seconds at most (a large batch into Snowflake): just wait (30 s at most, and a third
        // of the group's max.poll.interval.ms); librdkafka stops fetching by itself once its queue is full.
        // Pausing would make it drop what it has already fetched for the paused partitions, and fetch it again after.
        if (_inRebalance || write.Wait(_quietWait))
        {
            // Done, or inside a rebalance callback, where the consumer must not be polled and blocking is expected.
            write.Wait();
            return;
        }

        var paused = consumer.Assignment.ToArray();
        consumer.Pause(paused);
        try
        {
            while (!write.Wait(TimeSpan.FromMilliseconds(100)))
            {
                // Keeps the group membership alive. Only partitions assigned by a rebalance meanwhile can deliver.
                if (Consume(consumer, TimeSpan.Zero) is { IsPartitionEOF: false } record)
                {
                    Accept(consumer, record);
                }
            }
        }
        finally
        {
            Resume(consumer, consumer.Assignment.Intersect(paused).ToArray());
        }
    }

    /// <summary>
    /// Resumes paused partitions, and moves each one that has delivered before to the next offset expected from it.
    /// The seek restarts its fetcher: librdkafka has been seen to leave a resumed partition silent (a partition with
    /// lag that never delivers again, the consumer otherwise healthy), and a seek is how a fetcher is told where to go.
    /// </summary>
    private void Resume(IConsumer<byte[]?, byte[]?> consumer, TopicPartition[] partitions)
    {
        consumer.Resume(partitions);
        foreach (var partition in partitions)
        {
            _stallWatch.Remove(partition); // Its silence is measured from now.
            if (_expected.TryGetValue(partition, out var next))
            {
                try
                {
                    consumer.Seek(new TopicPartitionOffset(partition, next));
                }
                catch (KafkaException ex)
                {
                    LogResumeSeekFailed(partition.Topic, partition.Partition.Value, next, ex.Error.Reason);
                }
            }
        }
    }

    /// <summary>How long to wait for a write that is still retrying before abandoning it (it is then read again later).</summary>
    private readonly record struct WritePatience(TimeSpan? Limit)
    {
        public static WritePatience Unlimited => new(null);

        public static WritePatience None => new(TimeSpan.Zero);

        public static WritePatience UpTo(TimeSpan limit) => new(limit);
    }

    /// <summary>
    /// Hands the offsets of a batch the warehouse now holds to the client, which commits them to the group in the
    /// background. The warehouse is what ingestion resumes from; the group's offsets are for the tools that read them
    /// (lag monitors, kafka-consumer-groups), so a commit that fails or is late loses nothing.
    /// </summary>
    private void StoreOffsets(IConsumer<byte[]?, byte[]?> consumer, IReadOnlyList<PartitionProgress> progress)
    {
        foreach (var partition in progress)
        {
            var topicPartition = new TopicPartition(partition.Topic, partition.Partition);
            try
            {
                consumer.StoreOffset(new TopicPartitionOffset(topicPartition, partition.NextOffset));
            }
            catch (KafkaException ex)
            {
                // The partition is no longer assigned to this consumer (Local_State); its next owner resumes from the
                // warehouse, and its status is no longer this consumer's to show.
                LogStoreFailed(partition.Topic, partition.Partition, ex.Error.Code, ex.Error.Reason);
                continue;
            }

            _committed[topicPartition] = partition.NextOffset;
            PublishPartition(consumer, topicPartition);
        }
    }

    private void OnOffsetsCommitted(IConsumer<byte[]?, byte[]?> consumer, CommittedOffsets committed)
    {
        // Local_NoOffset: no stored offset is new since the last commit, so nothing was sent and nothing failed.
        var error = committed.Error.Code is ErrorCode.NoError or ErrorCode.Local_NoOffset
            ? committed.Offsets.Select(o => o.Error).FirstOrDefault(e => e.IsError)
            : committed.Error;
        if (error is null || !error.IsError)
        {
            return;
        }

        // Every few seconds while Kafka is unreachable: once a minute is enough to say so.
        if (_commitWarnedAt == 0 || time.GetElapsedTime(_commitWarnedAt) >= CommitWarningInterval)
        {
            _commitWarnedAt = time.GetTimestamp();
            LogCommitFailed(error.Code, error.Reason);
        }
    }

    /// <summary>
    /// Commits the stored offsets and leaves the group, so that the partitions move to another member at once. With
    /// Kafka unreachable, librdkafka's close waits for the group coordinator (45 s with the consumer group protocol,
    /// measured against the embedded broker), longer than a service manager waits after SIGTERM; the consumer is
    /// then left to the process's exit and the group reassigns its partitions when its session times out.
    /// </summary>
    /// <returns>Whether the consumer closed in time and may be disposed.</returns>
    private bool LeaveGroup(IConsumer<byte[]?, byte[]?> consumer)
    {
        var close = Task.Run(consumer.Close);
        if (close.Wait(ClosePatience))
        {
            close.GetAwaiter().GetResult(); // Its own exception, if it failed, rather than an AggregateException.
            return true;
        }

        LogCloseTimedOut(ClosePatience.TotalSeconds);
        _ = close.ContinueWith(t => LogLateCloseFailed(t.Exception!.GetBaseException().Message), CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return false;
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
        WarnIfNeverAssigned();
        foreach (var partition in consumer.Assignment)
        {
            PublishPartition(consumer, partition);
            WakeIfStalled(consumer, partition);
        }

        // A progress line now and then, while orders flow, so the log shows the service working.
        var sinceProgress = time.GetElapsedTime(_progressLoggedAt);
        if (sinceProgress >= ProgressInterval && status.Ingested > _progressIngested)
        {
            var lag = status.Partitions.Sum(p => p.Lag ?? 0);
            LogProgress(status.Ingested, status.Ingested - _progressIngested, (status.Ingested - _progressIngested) / sinceProgress.TotalSeconds,
                status.DeadLettered, lag);
            _progressLoggedAt = time.GetTimestamp();
            _progressIngested = status.Ingested;
        }
    }

    /// <summary>
    /// Says once, naming the setting, when the consumer has been given no partitions since it subscribed: librdkafka does
    /// not fail a consumer protocol member whose broker predates Kafka 4.0 (it marks the coordinator dead and retries, at
    /// debug level only), so without this the service would look healthy and ingest nothing.
    /// </summary>
    private void WarnIfNeverAssigned()
    {
        if (!_assignedOnce && !_joinWarned && time.GetElapsedTime(_subscribedAt) >= JoinPatience)
        {
            _joinWarned = true;
            LogNeverAssigned(ConsumerName, _options.GroupId, JoinPatience.TotalSeconds, _config.GroupProtocol, GroupMembership.ConfigSection);
        }
    }

    /// <summary>
    /// A partition with events to read that has delivered none for <see cref="StallTimeout"/> while the loop was reading
    /// is resumed and sought to where it should deliver next. librdkafka can leave a partition paused for good when a
    /// rebalance comes between its pause and its resume (confluentinc/librdkafka#5591): seen here as a healthy consumer
    /// with lag that never moves, after a write long enough for <see cref="WaitPolling"/> to pause (two processes at
    /// 1,000 ms per Snowflake statement). Resuming a partition that is not paused does nothing.
    /// </summary>
    private void WakeIfStalled(IConsumer<byte[]?, byte[]?> consumer, TopicPartition partition)
    {
        var next = _expected.TryGetValue(partition, out var expected) ? expected : _committed.GetValueOrDefault(partition) ?? -1;
        var high = consumer.GetWatermarkOffsets(partition).High.Value;
        if (next < 0 || high <= next || !_stallWatch.TryGetValue(partition, out var watch) || watch.Next != next)
        {
            _stallWatch[partition] = (next, time.GetTimestamp());
            return;
        }

        if (time.GetElapsedTime(watch.Since) >= StallTimeout)
        {
            LogStalled(partition.Topic, partition.Partition.Value, high - next, StallTimeout.TotalSeconds, next);
            consumer.Resume([partition]);
            try
            {
                consumer.Seek(new TopicPartitionOffset(partition, next));
            }
            catch (KafkaException ex)
            {
                LogResumeSeekFailed(partition.Topic, partition.Partition.Value, next, ex.Error.Reason);
            }

            _stallWatch[partition] = (next, time.GetTimestamp());
        }
    }

    /// <summary>
    /// Puts a partition's committed offset (where ingestion resumes; before any commit, the start of the partition as
    /// far as the client knows) and its high watermark, as last seen by the client, on the status endpoint.
    /// </summary>
    private void PublishPartition(IConsumer<byte[]?, byte[]?> consumer, TopicPartition partition)
    {
        var watermarks = consumer.GetWatermarkOffsets(partition);
        var committed = _committed.GetValueOrDefault(partition) ?? (watermarks.Low.Value >= 0 ? watermarks.Low.Value : null);
        status.SetPartition(new PartitionStatus(partition.Topic, partition.Partition.Value, committed,
            watermarks.High.Value >= 0 ? watermarks.High.Value : null));
    }

    private IEnumerable<TopicPartitionOffset> OnAssigned(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> partitions)
    {
        _assignedOnce = true;
        var starts = resumer.ChooseStartOffsets(consumer, partitions);
        foreach (var start in starts)
        {
            _committed[start.TopicPartition] = start.Offset.Value >= 0 ? start.Offset.Value : null;
            if (start.Offset.Value >= 0)
            {
                _expected[start.TopicPartition] = start.Offset.Value;
            }
            else
            {
                _expected.Remove(start.TopicPartition);
            }

            PublishPartition(consumer, start.TopicPartition);
        }

        LogAssigned(ConsumerName, string.Join(", ", starts.Select(s => $"{s.Partition.Value}@{Describe(s.Offset)}")));
        return starts;
    }

    private void OnRevoked(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        _inRebalance = true;
        try
        {
            Revoke(consumer, partitions);
        }
        finally
        {
            _inRebalance = false;
        }
    }

    private void Revoke(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        // While the partitions are still ours: let the write in flight finish (abandoning it if it is stuck retrying),
        // then give the pending batch one attempt. Whatever does not land is read again by the next owner, from the
        // warehouse's offsets.
        var landed = FinishInFlight(consumer, commit: true, RevokePatience);
        WritePendingAfter(consumer, landed, retry: false, RevokePatience);

        Forget(partitions);
        LogRevoked(partitions.Count);
    }

    private void OnLost(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        // Lost partitions may already belong to someone else: stop retrying, commit nothing, drop what was read.
        _inRebalance = true;
        try
        {
            FinishInFlight(consumer, commit: false, WritePatience.None);
        }
        finally
        {
            _inRebalance = false;
        }

        _batch = NewBatch();
        Forget(partitions);
        LogLost(partitions.Count);
    }

    private void Forget(List<TopicPartitionOffset> partitions)
    {
        foreach (var partition in partitions)
        {
            _committed.Remove(partition.TopicPartition);
            _expected.Remove(partition.TopicPartition);
            _stallWatch.Remove(partition.TopicPartition);
        }

        status.RemovePartitions(partitions.Select(p => p.Partition.Value));
    }

    private static string Describe(Offset offset) =>
        offset == Offset.Beginning ? "beginning" : offset == Offset.Stored ? "committed" : offset.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {Topic} [{Partition}] was resumed, but moving it to offset {Offset} failed ({Reason}); it may stay silent until the next rebalance")]
    private partial void LogResumeSeekFailed(string topic, int partition, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {Topic} [{Partition}] has {Lag} events to read but delivered none for {Seconds} s; resuming it at offset {Offset}")]
    private partial void LogStalled(string topic, int partition, long lag, double seconds, long offset);

    [LoggerMessage(Level = LogLevel.Information, Message = "Consumer {Consumer} ingesting {Topic} in group {GroupId} ({Protocol} protocol): batches of up to {MaxBatchSize} events or {MaxBatchDelayMs} ms into {Warehouse}")]
    private partial void LogStarted(string consumer, string topic, string groupId, GroupProtocol? protocol, int maxBatchSize, double maxBatchDelayMs, string warehouse);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingested {Total} orders so far ({Delta} since the last report, {Rate:F0}/s); {DeadLettered} events dead-lettered; lag {Lag}")]
    private partial void LogProgress(long total, long delta, double rate, long deadLettered, long lag);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consumer {Consumer} has been given no partitions in group {GroupId} for {Seconds} s " +
        "({Protocol} group protocol). A broker older than Kafka 4.0 does not know the consumer group protocol: set {Section}:GroupProtocol=Classic for it. " +
        "(A group with more consumers than partitions also leaves some consumers without any.)")]
    private partial void LogNeverAssigned(string consumer, string groupId, double seconds, GroupProtocol? protocol, string section);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partitions assigned to consumer {Consumer}, resuming at: {Positions}")]
    private partial void LogAssigned(string consumer, string positions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The write before them was abandoned, so {Count} events read after it are dropped, to be read again from the warehouse's resume point")]
    private partial void LogDroppedAfterAbandoned(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} partitions revoked")]
    private partial void LogRevoked(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} partitions lost; the pending batch was dropped and will be read again by their new owner")]
    private partial void LogLost(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Committing offsets to Kafka failed ({Code}: {Reason}); the warehouse holds them and ingestion resumes from there")]
    private partial void LogCommitFailed(ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Offsets of {Topic} [{Partition}] could not be handed to the Kafka client ({Code}: {Reason}); the partition is no longer this consumer's, and the warehouse holds its offsets")]
    private partial void LogStoreFailed(string topic, int partition, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leaving the consumer group failed after its time was up: {Reason}")]
    private partial void LogLateCloseFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leaving the consumer group did not finish within {Seconds} s (Kafka unreachable?); the group reassigns this consumer's partitions when its session times out, and the warehouse holds every offset written")]
    private partial void LogCloseTimedOut(double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {Topic}[{Partition}]: expected offset {Expected} next but read {Offset}, and the broker could not say where its log starts ({Reason}); events in between may have been deleted upstream")]
    private partial void LogGapUnchecked(string topic, int partition, long expected, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka consume error {Code}: {Reason}")]
    private partial void LogConsumeError(ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ingestion stopped after {Ingested} orders in {Batches} batches")]
    private partial void LogStopped(long ingested, long batches);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Ingestion stopped on an unexpected error")]
    private partial void LogFailed(Exception exception);
}
