using Confluent.Kafka;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.ServiceDefaults.Messaging;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// Decides where each newly assigned partition is read from. The warehouse, not Kafka, is the source of truth:
/// it holds the next offset of every partition, written in the same transaction as the rows. A stored offset is
/// trusted only while the record just before it is still the one that was ingested; otherwise the cluster was
/// reset or replaced (the embedded broker starts empty on every run while the DuckDB file persists), and the
/// partition is read again from its beginning, which the idempotent writes make safe.
/// </summary>
public sealed partial class PartitionResumer(
    StarSchemaWriter writer,
    KafkaConsumerFactory<byte[]?, byte[]?> consumers,
    UpstreamGapReporter gaps,
    ILogger<PartitionResumer> logger)
{
    private static readonly TimeSpan BrokerTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where to start each partition. Runs inside a rebalance callback, so it never throws: when the broker or the
    /// warehouse cannot answer, a partition resumes at its stored offset unchecked, or at Kafka's committed offset.
    /// </summary>
    public IReadOnlyList<TopicPartitionOffset> ChooseStartOffsets(IConsumer<byte[]?, byte[]?> consumer, IReadOnlyList<TopicPartition> partitions)
    {
        if (partitions.Count == 0)
        {
            return [];
        }

        try
        {
            return Choose(consumer, partitions);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Kafka's committed offsets are never ahead of the warehouse (they are committed after it), so they are a safe
            // if possibly older place to resume; the idempotent writes absorb the replay.
            LogAssignmentFallback(ex, partitions[0].Topic);
            return partitions.Select(tp => new TopicPartitionOffset(tp, Offset.Stored)).ToArray();
        }
    }

    private List<TopicPartitionOffset> Choose(IConsumer<byte[]?, byte[]?> consumer, IReadOnlyList<TopicPartition> partitions)
    {
        // Rebalance callbacks are synchronous and run on the thread polling the consumer (the consume loop's own, or the
        // one closing it at shutdown): blocking it is intended. If the
        // warehouse cannot be read, ChooseStartOffsets falls back to Kafka's committed offsets.
        var stored = writer.ReadOffsetsAsync(partitions[0].Topic, CancellationToken.None).GetAwaiter().GetResult();
        var byPartition = stored.ToDictionary(s => s.Partition);
        var starts = new List<TopicPartitionOffset>(partitions.Count);
        var toVerify = new List<(TopicPartition Partition, StoredOffset Stored)>();
        var resets = new List<string>();
        foreach (var partition in partitions)
        {
            if (!byPartition.TryGetValue(partition.Partition.Value, out var resume))
            {
                starts.Add(new TopicPartitionOffset(partition, Offset.Beginning));
                continue;
            }

            WatermarkOffsets watermarks;
            try
            {
                watermarks = consumer.QueryWatermarkOffsets(partition, BrokerTimeout);
            }
            catch (KafkaException ex)
            {
                LogWatermarksUnavailable(partition.Topic, partition.Partition.Value, resume.NextOffset, ex.Error.Reason);
                starts.Add(new TopicPartitionOffset(partition, resume.NextOffset));
                continue;
            }

            if (resume.NextOffset > watermarks.High.Value)
            {
                Reset(partition, resume, resets, $"ends at {watermarks.High.Value}");
                starts.Add(new TopicPartitionOffset(partition, Offset.Beginning));
            }
            else if (resume.NextOffset < watermarks.Low.Value)
            {
                // Retention deleted events that were never read: say so, and read on from the oldest one left.
                gaps.Report(partition.Topic, partition.Partition.Value, resume.NextOffset, watermarks.Low.Value);
                starts.Add(new TopicPartitionOffset(partition, watermarks.Low.Value));
            }
            else if (resume.NextOffset == watermarks.Low.Value)
            {
                // The record before the resume point is gone (retention): nothing to compare with, so trust it.
                starts.Add(new TopicPartitionOffset(partition, resume.NextOffset));
            }
            else
            {
                toVerify.Add((partition, resume));
            }
        }

        if (toVerify.Count > 0)
        {
            Dictionary<int, string> actual;
            try
            {
                actual = ReadDigests(toVerify.Select(v => new TopicPartitionOffset(v.Partition, v.Stored.NextOffset - 1)).ToArray());
            }
            catch (KafkaException ex)
            {
                LogDigestsUnavailable(ex.Error.Reason);
                actual = [];
            }

            foreach (var (partition, resume) in toVerify)
            {
                if (!actual.TryGetValue(partition.Partition.Value, out var digest))
                {
                    LogUnverified(partition.Topic, partition.Partition.Value, resume.NextOffset);
                    starts.Add(new TopicPartitionOffset(partition, resume.NextOffset));
                }
                else if (digest == resume.LastRecordDigest)
                {
                    starts.Add(new TopicPartitionOffset(partition, resume.NextOffset));
                }
                else
                {
                    Reset(partition, resume, resets, $"record {resume.NextOffset - 1} is another");
                    starts.Add(new TopicPartitionOffset(partition, Offset.Beginning));
                }
            }
        }

        if (resets.Count > 0)
        {
            // One line for them all: after a restart of the embedded broker, every partition says the same.
            LogReset(partitions[0].Topic, resets.Count, string.Join(", ", resets));
        }

        return starts;
    }

    private void Reset(TopicPartition partition, StoredOffset resume, List<string> resets, string evidence)
    {
        resets.Add($"[{partition.Partition.Value}] stored {resume.NextOffset}, {evidence}");
        try
        {
            writer.ResetOffsetAsync(partition.Topic, partition.Partition.Value, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Not fatal: the first batch is then refused as stale, finds the orders below the old resume point
            // missing, and forgets it then (BatchWriter.SkipStoredAsync).
            LogResetFailed(ex, partition.Topic, partition.Partition.Value);
        }
    }

    /// <summary>Reads one record at each position with a short-lived consumer outside the group.</summary>
    private Dictionary<int, string> ReadDigests(IReadOnlyList<TopicPartitionOffset> positions)
    {
        var digests = new Dictionary<int, string>();
        using var reader = consumers.Create(config =>
        {
            config.GroupId = $"ecommerce-offset-check-{Guid.NewGuid():N}";
            config.EnableAutoCommit = false;
            config.EnableAutoOffsetStore = false;
            config.ClientId = "ecommerce-offset-check";
            config.StatisticsIntervalMs = 0;
        });
        reader.Assign(positions);
        var deadline = DateTime.UtcNow + BrokerTimeout;
        var wanted = positions.ToDictionary(p => p.Partition.Value, p => p.Offset.Value);
        while (digests.Count < wanted.Count && DateTime.UtcNow < deadline)
        {
            var record = reader.Consume(TimeSpan.FromMilliseconds(200));
            if (record is { IsPartitionEOF: false } && wanted.TryGetValue(record.Partition.Value, out var offset) && record.Offset.Value == offset)
            {
                digests[record.Partition.Value] = PendingBatch.RecordDigest(record);
            }
        }

        reader.Close();
        return digests;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}: the warehouse's resume points of {Count} partitions do not match the records there ({Partitions}), so the cluster was reset or replaced (the embedded broker starts empty on every run). Reading them from their beginning; orders already ingested are recognised and skipped.")]
    private partial void LogReset(string topic, int count, string partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {Topic}[{Partition}]: could not read the record before offset {Offset} to check it; resuming there")]
    private partial void LogUnverified(string topic, int partition, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {Topic}[{Partition}]: the broker did not give its offsets ({Reason}); resuming at the stored offset {Offset} unchecked")]
    private partial void LogWatermarksUnavailable(string topic, int partition, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The records before the stored resume points could not be read ({Reason}); resuming there unchecked")]
    private partial void LogDigestsUnavailable(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {Topic}[{Partition}]: the stale resume point could not be removed from the warehouse now; the first batch will")]
    private partial void LogResetFailed(Exception exception, string topic, int partition);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Choosing where to resume {Topic} failed (the warehouse's offsets could not be read, or checked); resuming from Kafka's committed offsets")]
    private partial void LogAssignmentFallback(Exception exception, string topic);

}
