using System.Diagnostics;
using Ecommerce.Consumer.Ingestion.Landing;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.ServiceDefaults.Messaging;
using Microsoft.Extensions.Options;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// Writes one batch: its dead letters are sent and acknowledged, then its rows and partition offsets go to the
/// warehouse in one transaction. A failure is retried with backoff until it succeeds or the batch is abandoned;
/// nothing here touches the Kafka consumer, so a batch can be written while the next one is being read.
/// </summary>
public sealed partial class BatchWriter(
    StarSchemaWriter writer,
    LandingWriter landing,
    DeadLetterPublisher deadLetters,
    IngestionStatus status,
    IngestionMetrics metrics,
    IOptions<IngestionOptions> options,
    TimeProvider time,
    ILogger<BatchWriter> logger)
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(15);
    private const int StaleReadsBeforeDegraded = 20;
    private readonly IngestionOptions _options = options.Value;

    /// <summary>
    /// Whether a batch may be planned and staged while the one before it is still being written
    /// (<see cref="Start"/> with an earlier write): on the direct path, where the warehouse runs the two side by side
    /// (Snowflake). A batch then costs the longer of its preparation and the transaction before it, instead of their sum.
    /// </summary>
    public bool Pipelines => _options.WritePath == IngestionWritePath.Direct && writer.PreparesBesideTransactions;

    /// <summary>
    /// How many times the last preparation's time is left for preparing the next batch before the running transaction
    /// is expected to end: the slack for a preparation that takes longer than the last one.
    /// </summary>
    private const double PrepareHeadroom = 1.5;

    /// <summary>
    /// Whether the batch being gathered should now be cut and written after <paramref name="running"/> (see
    /// <see cref="Start"/>). Not before the running one's plan is final; then at once when the batch is full or the
    /// running write has ended. Otherwise as late as its preparation can still end with the running transaction, each
    /// expected to take as long as the worker's last one (the preparation with <see cref="PrepareHeadroom"/>), so that
    /// the batch takes in what arrives meanwhile: an order then waits for one transaction after its batch is cut, not
    /// for about two. Until both have been timed, a batch that is not full waits for the running write to end, as
    /// without pipelining.
    /// </summary>
    public bool IsTimeToFollow(BatchWrite running, bool batchIsFull)
    {
        ArgumentNullException.ThrowIfNull(running);
        if (!running.Followable.IsCompleted)
        {
            return false;
        }

        if (batchIsFull || running.Completion.IsCompleted)
        {
            return true;
        }

        var transaction = running.Timings.LastTransaction;
        var preparation = running.Timings.LastPreparation;
        if (transaction == TimeSpan.Zero || preparation == TimeSpan.Zero)
        {
            return false;
        }

        return transaction - time.GetElapsedTime(running.TransactionStartedAt) <= preparation * PrepareHeadroom;
    }

    /// <summary>
    /// Starts writing <paramref name="batch"/> (as <see cref="WriteAsync(PendingBatch, bool, CancellationToken)"/>) in the
    /// background. With <paramref name="after"/>, a write still going whose batch was read before this one
    /// (<see cref="Pipelines"/> only): this batch is planned on top of it while its transaction runs, and its own
    /// transaction runs once that one committed.
    /// </summary>
    public BatchWrite Start(PendingBatch batch, bool retry, BatchWrite? after = null, PipelineTimings? timings = null)
    {
        if (after is not null && !Pipelines)
        {
            throw new InvalidOperationException("Batches are written one after the other on this write path and warehouse.");
        }

        var write = new BatchWrite { Timings = timings ?? after?.Timings ?? new PipelineTimings() };
        write.Completion = after is null
            ? Task.Run(() => WriteAsync(batch, retry, write, null))
            : Task.Run(() => WriteAfterAsync(batch, retry, write, after));
        return write;
    }

    /// <summary>
    /// Writes <paramref name="batch"/>, retrying failures while <paramref name="retry"/> and until
    /// <paramref name="abandon"/> is cancelled. Returns the partitions' new offsets (to commit to Kafka), or null
    /// when the batch was abandoned: its events are then read again by whoever owns the partitions next.
    /// </summary>
    public Task<IReadOnlyList<PartitionProgress>?> WriteAsync(PendingBatch batch, bool retry, CancellationToken abandon) =>
        WriteAsync(batch, retry, null, null, abandon);

    private Task<IReadOnlyList<PartitionProgress>?> WriteAsync(PendingBatch batch, bool retry, BatchWrite write, PreparedBatch? prepared) =>
        WriteAsync(batch, retry, write, prepared, write.Abandoned);

    /// <summary>
    /// Writes a batch read after <paramref name="earlier"/>, a write still going. While that one's transaction runs,
    /// this batch is planned on top of it (its new orders count as stored, its customers' histories are the ones it
    /// writes) and staged; once it committed with that plan, this batch's dead letters are sent and its transaction
    /// runs at once. Should it have committed with another plan (a retry that read again), the preparation is let go and
    /// the batch written as any other; should either write have been abandoned meanwhile, this one is, unwritten: its
    /// events must not land before the earlier ones. Its conflicts wait for that commit, since they were judged
    /// against its orders. Returns this batch's offsets only; the earlier write reports its own.
    /// </summary>
    private async Task<IReadOnlyList<PartitionProgress>?> WriteAfterAsync(PendingBatch batch, bool retry, BatchWrite write, BatchWrite earlier)
    {
        await earlier.Followable;
        PreparedBatch? prepared = null;
        if (!earlier.Completion.IsCompleted && !write.Abandoned.IsCancellationRequested)
        {
            var running = await earlier.TransactionStarting;
            try
            {
                var started = time.GetTimestamp();
                var plan = await writer.PlanAfterAsync(batch.Orders, running, write.Abandoned);
                prepared = await StageAsync(batch, running, plan, write, started, write.Abandoned);
            }
            catch (OperationCanceledException) when (write.Abandoned.IsCancellationRequested)
            {
                // Abandoned: said below.
            }
            catch (Exception ex)
            {
                LogPrepareBesideFailed(batch.Count, ex.Message);
            }
        }

        if (await earlier.Completion is null || write.Abandoned.IsCancellationRequested)
        {
            prepared?.Write.Discard();
            LogAbandoned(batch.Count);
            return null;
        }

        if (prepared is not null && !ReferenceEquals(earlier.Stored, prepared.Running))
        {
            prepared.Write.Discard();
            prepared = null;
        }

        return await WriteAsync(batch, retry, write, prepared);
    }

    /// <summary>
    /// A batch planned and staged, its transaction to run: on top of a running one (<see cref="Running"/>, the plan that
    /// one's transaction runs), or by itself (null).
    /// </summary>
    private sealed record PreparedBatch(BatchPlan? Running, BatchPlan Plan, IReadOnlyList<PartitionProgress> Progress, PreparedWrite Write);

    /// <summary>
    /// Stages the batch's planned transaction to run later, and notes in the worker's timings how long its preparation
    /// took since <paramref name="started"/>.
    /// </summary>
    private async Task<PreparedBatch> StageAsync(
        PendingBatch batch, BatchPlan? running, BatchPlan plan, BatchWrite write, long started, CancellationToken cancellationToken)
    {
        var progress = batch.Progress();
        var prepared = new PreparedBatch(running, plan, progress, await writer.PrepareWriteAsync(plan, progress, cancellationToken));
        write.Timings.LastPreparation = time.GetElapsedTime(started);
        return prepared;
    }

    /// <summary>
    /// The retry loop of a write; <paramref name="prepared"/>, if given, is its first attempt. <paramref name="write"/>,
    /// if given, learns each attempt's plan as its transaction starts, and the plan stored.
    /// </summary>
    private async Task<IReadOnlyList<PartitionProgress>?> WriteAsync(
        PendingBatch batch, bool retry, BatchWrite? write, PreparedBatch? prepared, CancellationToken abandon)
    {
        var delay = FirstRetryDelay;
        var stale = false;
        var staleReads = 0;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (stale)
                {
                    stale = false;
                    await SkipStoredAsync(batch);
                }

                var progress = await WriteOnceAsync(batch, write, attempt == 1 ? prepared : null);
                status.SetWriteFailure(null);
                return progress;
            }
            catch (StaleBatchException ex)
            {
                // Not a failure of the warehouse: part of the batch is stored already. Leave those events out and
                // write the rest at once; each round leaves out more, so this ends.
                LogStale(batch.Count, ex.Message);
                if (!retry || abandon.IsCancellationRequested)
                {
                    LogAbandoned(batch.Count);
                    return null;
                }

                stale = true;
            }
            catch (StaleReadException ex)
            {
                // Another writer stored orders of the same customers (or the same orders) after this batch read them.
                // Nothing was written; read again and rebuild. Each refusal means another writer made progress.
                LogStaleRead(batch.Count, ex.Message);
                if (!retry || abandon.IsCancellationRequested)
                {
                    LogAbandoned(batch.Count);
                    return null;
                }

                // A short random pause, so that two writers refusing each other do not retry in step. Refused again and
                // again, something else is wrong (a stored history this writer cannot read back as it is): say so on
                // /health, and back off as after a failure.
                if (++staleReads >= StaleReadsBeforeDegraded)
                {
                    status.SetWriteFailure(ex);
                }

                if (!await PauseAsync(staleReads >= StaleReadsBeforeDegraded ? delay : TimeSpan.FromMilliseconds(Random.Shared.Next(1, 50)), batch, abandon))
                {
                    return null;
                }
            }
            catch (Exception ex)
            {
                status.SetWriteFailure(ex);
                var givingUp = !retry || abandon.IsCancellationRequested;
                LogWriteFailed(ex, batch.Count, attempt, givingUp ? "abandoning it; it will be read again" : $"retrying in {delay.TotalSeconds:F1} s");
                if (givingUp)
                {
                    return null;
                }

                if (!await PauseAsync(delay, batch, abandon))
                {
                    return null;
                }

                delay = TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, delay.TotalMilliseconds * 2 * (0.8 + (Random.Shared.NextDouble() * 0.4))));
            }
        }
    }

    /// <summary>Waits before the next attempt; false (and logged) when the batch is abandoned meanwhile.</summary>
    private async Task<bool> PauseAsync(TimeSpan pause, PendingBatch batch, CancellationToken abandon)
    {
        try
        {
            await Task.Delay(pause, time, abandon);
            return true;
        }
        catch (OperationCanceledException)
        {
            LogAbandoned(batch.Count);
            return false;
        }
    }

    /// <summary>
    /// After a refusal as stale: leaves out the events below each partition's stored resume point, which another
    /// writer has stored. Every order there must then be in the warehouse (stored, or a duplicate or conflict of one
    /// that is). If one is not, that resume point belongs to another history of the partition (a replaced cluster,
    /// met while the warehouse could not be read at assignment): it is forgotten, and nothing is left out there.
    /// </summary>
    private async Task SkipStoredAsync(PendingBatch batch)
    {
        var stored = await writer.ReadOffsetsAsync(_options.Topic, CancellationToken.None);
        var below = stored.SelectMany(batch.OrdersBelow).ToArray();
        var unknown = (await writer.ClassifyAsync(below, CancellationToken.None)).New.Select(o => o.Source.Partition).ToHashSet();
        foreach (var partition in unknown)
        {
            LogForeignResumePoint(_options.Topic, partition);
            await writer.ResetOffsetAsync(_options.Topic, partition, CancellationToken.None);
        }

        if (!batch.SkipStored(stored.Where(s => !unknown.Contains(s.Partition))) && unknown.Count == 0)
        {
            // Refused, yet nothing is stored past the batch: not a race this writer can resolve by itself.
            throw new InvalidOperationException("The warehouse refused the batch as stale, but holds no progress past it.");
        }
    }

    private async Task<IReadOnlyList<PartitionProgress>> WriteOnceAsync(PendingBatch batch, BatchWrite? write, PreparedBatch? prepared)
    {
        // Batch processing links to the span of every order in the batch (the messaging conventions for batches), and
        // continues the trace of the first one, so that a trace on the dashboard runs from simulator to warehouse.
        var links = batch.ProducerLinks().ToList();
        using var activity = KafkaTracing.Source.StartActivity(
            $"process {_options.Topic}", ActivityKind.Consumer, parentContext: links.FirstOrDefault().Context, links: links);
        if (activity is not null)
        {
            KafkaTracing.SetOperation(activity, "process", _options.Topic);
        }

        activity?.SetTag("messaging.consumer.group.name", _options.GroupId);
        activity?.SetTag("messaging.batch.message_count", batch.Count);

        try
        {
            if (_options.WritePath == IngestionWritePath.Landed)
            {
                return await LandOnceAsync(batch);
            }

            var planStarted = time.GetTimestamp();
            var plan = prepared?.Plan ?? await writer.PlanAsync(batch.Orders, CancellationToken.None);
            var classification = plan.Classification;
            await SendDeadLettersAsync(batch, batch.DeadLetters
                .Concat(classification.Conflicts.Select(order => new DeadLetter(batch.RecordOf(order), Rejection.Conflict(order.Order.OrderId)))));
            if (prepared is null && write is not null && Pipelines)
            {
                // Staged apart from its transaction, as a batch prepared beside another is, so that both times are known
                // before a batch follows this one (IsTimeToFollow).
                prepared = await StageAsync(batch, null, plan, write, planStarted, CancellationToken.None);
            }

            // From here the plan is final: a next batch may be planned on top of it (WriteAfterAsync).
            var writeStarted = time.GetTimestamp();
            write?.StartingTransaction(plan, writeStarted);
            var progress = prepared?.Progress ?? batch.Progress();
            if (prepared is not null)
            {
                await prepared.Write.ExecuteAsync(CancellationToken.None);
            }
            else
            {
                await writer.WriteAsync(plan, progress, CancellationToken.None);
            }

            if (write is not null)
            {
                write.Stored = plan;
                if (prepared is not null)
                {
                    // The transaction alone: what the preparation of a batch beside the next one has to fit in.
                    write.Timings.LastTransaction = time.GetElapsedTime(writeStarted);
                    write.StoredAsPreparedBeside = prepared.Running is not null;
                }
            }

            Record(batch, classification, time.GetElapsedTime(writeStarted));
            activity?.SetTag("ecommerce.ingested", classification.New.Count);
            activity?.SetTag("ecommerce.duplicates", classification.Duplicates.Count);
            activity?.SetTag("ecommerce.dead_lettered", batch.DeadLetters.Count + classification.Conflicts.Count);
            return progress;
        }
        catch (Exception ex)
        {
            prepared?.Write.Discard(); // Nothing if it ran.
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }

    /// <summary>
    /// The Landed write path: dead letters first, then the orders and the partitions' progress appended to the landing
    /// layer. Which orders are new is the modeller's to say (<see cref="Landing.LandedOrderModeller"/>).
    /// </summary>
    private async Task<IReadOnlyList<PartitionProgress>> LandOnceAsync(PendingBatch batch)
    {
        await SendDeadLettersAsync(batch, batch.DeadLetters);

        var started = time.GetTimestamp();
        var progress = batch.Progress();
        await landing.LandAsync(batch, progress, CancellationToken.None);

        status.RecordLanding(batch.Count, batch.Orders.Count, batch.DeadLetters.Count, time.GetUtcNow());
        metrics.RecordBatch(batch.Count, time.GetElapsedTime(started));
        metrics.RecordEvents("landed", batch.Orders.Count);
        RecordInvalid(batch);
        return progress;
    }

    /// <summary>Sends those of <paramref name="refused"/> the dead-letter topic has not acknowledged yet, and notes them.</summary>
    private async Task SendDeadLettersAsync(PendingBatch batch, IEnumerable<DeadLetter> refused)
    {
        var unsent = batch.NotYetDeadLettered(refused);
        await deadLetters.PublishAsync(unsent, CancellationToken.None);
        batch.MarkDeadLettered(unsent);
    }

    /// <summary>The batch's invalid events in the events metric, by rejection code.</summary>
    private void RecordInvalid(PendingBatch batch)
    {
        foreach (var group in batch.DeadLetters.GroupBy(d => d.Rejection.Code))
        {
            metrics.RecordEvents("dead_lettered", group.Count(), group.Key);
        }
    }

    private void Record(PendingBatch batch, BatchClassification classification, TimeSpan writeDuration)
    {
        var now = time.GetUtcNow();
        var conflicts = classification.Conflicts.Count;
        var invalid = batch.DeadLetters.Count;
        // Orders another writer stored meanwhile (see SkipStored) are redeliveries as far as this writer is concerned.
        var duplicates = classification.Duplicates.Count + batch.SkippedOrders;
        status.RecordBatch(batch.Count, classification.New.Count, duplicates, conflicts, invalid + conflicts, now);
        metrics.RecordBatch(batch.Count, writeDuration);
        metrics.RecordEvents("ingested", classification.New.Count);
        metrics.RecordEvents("duplicate", duplicates);
        metrics.RecordEvents("conflict", conflicts, Rejection.ConflictCode);
        RecordInvalid(batch);

        foreach (var incoming in classification.New)
        {
            var order = incoming.Order;
            metrics.RecordOrder(now.UtcDateTime - order.OrderTimestamp, order.Category, order.Price * order.Quantity, order.Quantity);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing a batch of {Count} events failed (attempt {Attempt}); {Next}")]
    private partial void LogWriteFailed(Exception exception, int count, int attempt, string next);

    [LoggerMessage(Level = LogLevel.Information, Message = "Preparing a batch of {Count} events beside the one before it failed ({Reason}); it is planned again once that one is written")]
    private partial void LogPrepareBesideFailed(int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} events was abandoned before it could be written; it will be read again")]
    private partial void LogAbandoned(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Part of a batch of {Count} events was stored by another writer meanwhile; writing the rest ({Reason})")]
    private partial void LogStale(int count, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "A batch of {Count} events read customers or orders that another writer changed meanwhile; reading again ({Reason})")]
    private partial void LogStaleRead(int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The stored resume point of {Topic} partition {Partition} is past orders the warehouse does not hold: it belongs to another history of the partition (a replaced cluster) and is forgotten")]
    private partial void LogForeignResumePoint(string topic, int partition);
}
