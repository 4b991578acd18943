namespace Ecommerce.Consumer.Warehouse;

/// <summary>A stored resume point, as read back from the warehouse.</summary>
public sealed record StoredOffset(int Partition, long NextOffset, string LastRecordDigest);
