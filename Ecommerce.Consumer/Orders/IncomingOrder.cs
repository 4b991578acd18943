using System.Diagnostics;

namespace Ecommerce.Consumer.Orders;

/// <summary>A valid order event with its content digest, where it was read, and the producer's trace context.</summary>
/// <param name="Order">The parsed fields, timestamp in UTC.</param>
/// <param name="ContentDigest">The same for every delivery of the same order; differs when an order id is reused.</param>
/// <param name="Source">The topic, partition and offset it was read from.</param>
/// <param name="ProducerContext">The producer's span from the message headers, for the batch span to link to.</param>
public sealed record IncomingOrder(ParsedOrder Order, string ContentDigest, SourcePosition Source, ActivityContext ProducerContext);
