namespace Ecommerce.Consumer.Ingestion;

/// <summary>Progress of one partition: where ingestion has committed to, and how far behind the broker it is.</summary>
public sealed record PartitionStatus(string Topic, int Partition, long? CommittedOffset, long? HighWatermark)
{
    public long? Lag => CommittedOffset is { } committed && HighWatermark is { } high ? Math.Max(0, high - committed) : null;
}
