using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Ecommerce.ServiceDefaults.Messaging;
using Microsoft.Extensions.Options;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// Sends refused events to the dead-letter topic: the original key, value and headers, plus headers that say
/// why and where from. Returns only when the broker has acknowledged all of them, because the source offsets
/// are committed after this and an unacknowledged dead letter would be a lost event.
/// </summary>
public sealed class DeadLetterPublisher : IDisposable
{
    public const string ReasonHeader = "dlq.reason";
    public const string CodeHeader = "dlq.error.code";
    public const string SourceTopicHeader = "dlq.source.topic";
    public const string SourcePartitionHeader = "dlq.source.partition";
    public const string SourceOffsetHeader = "dlq.source.offset";
    public const string FailedAtHeader = "dlq.failed.at";

    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly IngestionOptions _options;
    private readonly TimeProvider _time;

    public DeadLetterPublisher(KafkaProducerFactory<byte[]?, byte[]?> producers, IOptions<IngestionOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        _producer = producers.Create(config =>
        {
            config.EnableIdempotence = true;
            config.Acks = Acks.All;
            config.ClientId ??= "ecommerce-consumer-dlq";
            config.LingerMs = 5;
        });
    }

    public async Task PublishAsync(IReadOnlyList<DeadLetter> deadLetters, CancellationToken cancellationToken)
    {
        if (deadLetters.Count == 0)
        {
            return;
        }

        var failedAt = _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        var deliveries = new List<Task<DeliveryResult<byte[]?, byte[]?>>>(deadLetters.Count);
        foreach (var (record, rejection) in deadLetters)
        {
            var headers = new Headers();
            foreach (var header in record.Message.Headers ?? [])
            {
                headers.Add(header.Key, header.GetValueBytes());
            }

            Add(headers, ReasonHeader, rejection.Reason);
            Add(headers, CodeHeader, rejection.Code);
            Add(headers, SourceTopicHeader, record.Topic);
            Add(headers, SourcePartitionHeader, record.Partition.Value.ToString(CultureInfo.InvariantCulture));
            Add(headers, SourceOffsetHeader, record.Offset.Value.ToString(CultureInfo.InvariantCulture));
            Add(headers, FailedAtHeader, failedAt);

            // A span per dead letter, linked to the producer's, says on the trace why this event stopped here.
            using var activity = KafkaTracing.Source.StartActivity(
                $"send {_options.DeadLetterTopic}", ActivityKind.Producer, parentContext: default(ActivityContext),
                links: KafkaTracing.Extract(record.Message.Headers) is { } producer && producer != default ? [new ActivityLink(producer)] : null);
            if (activity is not null)
            {
                activity.SetTag("messaging.system", "kafka");
                activity.SetTag("messaging.operation.type", "send");
                activity.SetTag("messaging.destination.name", _options.DeadLetterTopic);
                activity.SetTag("error.type", rejection.Code);
                activity.SetTag("ecommerce.dead_letter.reason", rejection.Reason);
                activity.SetTag("ecommerce.source.partition", record.Partition.Value);
                activity.SetTag("ecommerce.source.offset", record.Offset.Value);
            }

            deliveries.Add(_producer.ProduceAsync(
                _options.DeadLetterTopic,
                new Message<byte[]?, byte[]?> { Key = record.Message.Key, Value = record.Message.Value, Headers = headers },
                cancellationToken));
        }

        // Throws if any delivery failed: the caller retries the whole batch rather than commit past a lost event.
        await Task.WhenAll(deliveries);
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }

    private static void Add(Headers headers, string key, string value) => headers.Add(key, Encoding.UTF8.GetBytes(value));
}
