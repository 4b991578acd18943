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
    /// Writes <paramref name="batch"/>, retrying failures while <paramref name="retry"/> and until
    /// <paramref name="abandon"/> is cancelled. Returns the partitions' new offsets (to commit to Kafka), or null
    /// when the batch was abandoned: its events are then read again by whoever owns the partitions next.
    /// </summary>
    public async Task<IReadOnlyList<PartitionProgress>?> WriteAsync(PendingBatch batch, bool retry, CancellationToken abandon)
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

                var progress = await WriteOnceAsync(batch);
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

    private async Task<IReadOnlyList<PartitionProgress>> WriteOnceAsync(PendingBatch batch)
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

            var plan = await writer.PlanAsync(batch.Orders, CancellationToken.None);
            var classification = plan.Classification;
            await SendDeadLettersAsync(batch, batch.DeadLetters
                .Concat(classification.Conflicts.Select(order => new DeadLetter(batch.RecordOf(order), Rejection.Conflict(order.Order.OrderId)))));

            var writeStarted = time.GetTimestamp();
            var progress = batch.Progress();
            await writer.WriteAsync(plan, progress, CancellationToken.None);

            Record(batch, classification, time.GetElapsedTime(writeStarted));
            activity?.SetTag("ecommerce.ingested", classification.New.Count);
            activity?.SetTag("ecommerce.duplicates", classification.Duplicates.Count);
            activity?.SetTag("ecommerce.dead_lettered", batch.DeadLetters.Count + classification.Conflicts.Count);
            return progress;
        }
        catch (Exception ex)
        {
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} events was abandoned before it could be written; it will be read again")]
    private partial void LogAbandoned(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Part of a batch of {Count} events was stored by another writer meanwhile; writing the rest ({Reason})")]
    private partial void LogStale(int count, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "A batch of {Count} events read customers or orders that another writer changed meanwhile; reading again ({Reason})")]
    private partial void LogStaleRead(int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The stored resume point of {Topic} partition {Partition} is past orders the warehouse does not hold: it belongs to another history of the partition (a replaced cluster) and is forgotten")]
    private partial void LogForeignResumePoint(string topic, int partition);
}
