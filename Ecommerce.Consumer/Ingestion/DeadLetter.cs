using Confluent.Kafka;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>An event refused by validation or by the warehouse, with the original record to dead-letter.</summary>
public sealed record DeadLetter(ConsumeResult<byte[]?, byte[]?> Record, Rejection Rejection);
