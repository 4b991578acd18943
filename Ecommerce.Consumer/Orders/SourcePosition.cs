namespace Ecommerce.Consumer.Orders;

/// <summary>Where an event was read: enough to find it again, and to say so on the dead-letter topic.</summary>
public readonly record struct SourcePosition(string Topic, int Partition, long Offset);
