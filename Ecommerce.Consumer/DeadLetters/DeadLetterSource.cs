namespace Ecommerce.Consumer.DeadLetters;

/// <summary>The topic, partition and offset an event was read from before it was refused.</summary>
public sealed record DeadLetterSource(string? Topic, int? Partition, long? Offset);
