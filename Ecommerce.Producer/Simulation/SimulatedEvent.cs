namespace Ecommerce.Producer.Simulation;

/// <summary>One event ready to send: the Kafka key, the payload bytes, and what it was meant to be.</summary>
public sealed record SimulatedEvent(string Key, byte[] Payload, EventKind Kind, OrderEvent Order);
