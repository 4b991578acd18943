namespace Ecommerce.Consumer.DeadLetters;

/// <summary>What happened to one dead letter of a replay: sent again (where to), or why not.</summary>
public sealed record ReplayResult(int Partition, long Offset, bool Replayed, string? Error, int? OrdersPartition, long? OrdersOffset);
