namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// The resume point of one partition after a batch: the next offset, and a digest of the last record. With
/// <see cref="FirstOffset"/> (where the batch starts in the partition), the write is refused if the warehouse is
/// already further along.
/// </summary>
public sealed record PartitionProgress(string Topic, int Partition, long NextOffset, string LastRecordDigest)
{
    public long? FirstOffset { get; init; }
}
