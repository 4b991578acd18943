using Confluent.Kafka;
using Ecommerce.Consumer.Orders;
using Ecommerce.ServiceDefaults.Messaging;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// The validate stage's verdict on one record read from Kafka: either the order to store (with its content digest,
/// where it was read and the producer's trace context), or why it goes to the dead-letter topic.
/// </summary>
public sealed class ValidatedRecord
{
    // Only Of makes one, so a verdict always has exactly one of an order and a rejection.
    private ValidatedRecord(ConsumeResult<byte[]?, byte[]?> record, IncomingOrder? order, Rejection? rejection)
    {
        Record = record;
        Order = order;
        Rejection = rejection;
    }

    /// <summary>The record as consumed.</summary>
    public ConsumeResult<byte[]?, byte[]?> Record { get; }

    /// <summary>The order to store, when the record is valid.</summary>
    public IncomingOrder? Order { get; }

    /// <summary>Why the record goes to the dead-letter topic, when it is not valid.</summary>
    public Rejection? Rejection { get; }

    /// <summary>Validates <paramref name="record"/> against the wire format. Never throws on data.</summary>
    /// <param name="record">The record as consumed.</param>
    /// <param name="latestAllowed">The latest order time accepted now (now plus the allowed clock skew); none when null.</param>
    public static ValidatedRecord Of(ConsumeResult<byte[]?, byte[]?> record, DateTime? latestAllowed)
    {
        ArgumentNullException.ThrowIfNull(record);
        try
        {
            if (!OrderValidator.TryParse(record.Message.Value, out var order, out var rejection, latestAllowed))
            {
                return new ValidatedRecord(record, null, rejection);
            }

            var incoming = new IncomingOrder(
                order,
                OrderValidator.Digest(order),
                new SourcePosition(record.Topic, record.Partition.Value, record.Offset.Value),
                KafkaTracing.Extract(record.Message.Headers));
            return new ValidatedRecord(record, incoming, null);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The validator is meant never to throw; if some input still makes it, that input is dead-lettered with
            // the error rather than stopping ingestion for everyone.
            return new ValidatedRecord(record, null, new Rejection(Rejection.MalformedCode, $"the event could not be read: {ex.Message}"));
        }
    }
}
