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
public sealed partial class DeadLetterPublisher : IDisposable
{
    public const string ReasonHeader = "dlq.reason";
    public const string CodeHeader = "dlq.error.code";
    public const string SourceTopicHeader = "dlq.source.topic";
    public const string SourcePartitionHeader = "dlq.source.partition";
    public const string SourceOffsetHeader = "dlq.source.offset";
    public const string FailedAtHeader = "dlq.failed.at";

    /// <summary>Present when the dead letter carries only the first bytes of the original value: the original size.</summary>
    public const string ValueTruncatedHeader = "dlq.value.truncated.from.bytes";

    /// <summary>Present when the original key was cut the same way.</summary>
    public const string KeyTruncatedHeader = "dlq.key.truncated.from.bytes";

    /// <summary>Present when the original headers were left out (too large): how many there were.</summary>
    public const string HeadersDroppedHeader = "dlq.headers.dropped";

    /// <summary>
    /// The most of an original value a dead letter carries: every valid order is smaller
    /// (<see cref="OrderValidator.MaxMessageBytes"/>), and it is plenty to see what a larger record was. A dead letter
    /// then always fits the broker's default message size (1 MB), however large the record it stands for.
    /// </summary>
    public const int MaxValueBytes = OrderValidator.MaxMessageBytes;

    public const int MaxKeyBytes = 16 * 1024;
    public const int MaxOriginalHeaderBytes = 64 * 1024;

    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly IngestionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public DeadLetterPublisher(
        KafkaProducerFactory<byte[]?, byte[]?> producers, IOptions<IngestionOptions> options, TimeProvider time, ILogger<DeadLetterPublisher>? logger = null)
    {
        _options = options.Value;
        _time = time;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _producer = producers.Create(config =>
        {
            config.EnableIdempotence = true;
            config.Acks = Acks.All;
            config.ClientId ??= "ecommerce-consumer-dlq";
            config.LingerMs = 5;
        });
    }

    /// <summary>
    /// Sends the dead letters and returns when the broker acknowledged them. A transient failure throws (the batch is
    /// retried). A permanent one never holds ingestion up: a dead letter still too large for the broker is sent again
    /// with its metadata only, and one the broker refuses for good (not authorised) is logged as an error with its
    /// source position.
    /// </summary>
    public async Task PublishAsync(IReadOnlyList<DeadLetter> deadLetters, CancellationToken cancellationToken)
    {
        if (deadLetters.Count == 0)
        {
            return;
        }

        var failedAt = _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        var deliveries = deadLetters.Select(d => (DeadLetter: d, Delivery: Send(d, failedAt, metadataOnly: false, cancellationToken))).ToList();
        Exception? transient = null;
        foreach (var (deadLetter, delivery) in deliveries)
        {
            try
            {
                await delivery;
            }
            catch (ProduceException<byte[]?, byte[]?> ex) when (IsTooLarge(ex.Error.Code))
            {
                LogTooLarge(deadLetter.Record.Topic, deadLetter.Record.Partition.Value, deadLetter.Record.Offset.Value, ex.Error.Reason);
                try
                {
                    await Send(deadLetter, failedAt, metadataOnly: true, cancellationToken);
                }
                catch (ProduceException<byte[]?, byte[]?> again) when (IsPermanent(again.Error.Code))
                {
                    LogRefused(deadLetter.Record.Topic, deadLetter.Record.Partition.Value, deadLetter.Record.Offset.Value, deadLetter.Rejection.Code, again.Error.Reason);
                }
            }
            catch (ProduceException<byte[]?, byte[]?> ex) when (IsPermanent(ex.Error.Code))
            {
                LogRefused(deadLetter.Record.Topic, deadLetter.Record.Partition.Value, deadLetter.Record.Offset.Value, deadLetter.Rejection.Code, ex.Error.Reason);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                transient ??= ex; // Every delivery is awaited first, so none is left running when the batch is retried.
            }
        }

        if (transient is not null)
        {
            throw transient;
        }
    }

    private async Task<DeliveryResult<byte[]?, byte[]?>> Send(DeadLetter deadLetter, string failedAt, bool metadataOnly, CancellationToken cancellationToken)
    {
        var (record, rejection) = deadLetter;
        var headers = new Headers();
        var original = record.Message.Headers ?? [];
        if (!metadataOnly && original.Sum(h => h.Key.Length + (h.GetValueBytes()?.Length ?? 0)) <= MaxOriginalHeaderBytes)
        {
            foreach (var header in original)
            {
                headers.Add(header.Key, header.GetValueBytes());
            }
        }
        else if (original.Count > 0)
        {
            AddText(headers, HeadersDroppedHeader, original.Count.ToString(CultureInfo.InvariantCulture));
        }

        AddText(headers, ReasonHeader, rejection.Reason);
        AddText(headers, CodeHeader, rejection.Code);
        AddText(headers, SourceTopicHeader, record.Topic);
        AddText(headers, SourcePartitionHeader, record.Partition.Value.ToString(CultureInfo.InvariantCulture));
        AddText(headers, SourceOffsetHeader, record.Offset.Value.ToString(CultureInfo.InvariantCulture));
        AddText(headers, FailedAtHeader, failedAt);
        var key = Bounded(record.Message.Key, metadataOnly ? 0 : MaxKeyBytes, headers, KeyTruncatedHeader);
        var value = Bounded(record.Message.Value, metadataOnly ? 0 : MaxValueBytes, headers, ValueTruncatedHeader);

        // A span per dead letter, linked to the producer's, says on the trace why this event stopped here.
        using var activity = KafkaTracing.Source.StartActivity(
            $"send {_options.DeadLetterTopic}", ActivityKind.Producer, parentContext: default(ActivityContext),
            links: KafkaTracing.Extract(record.Message.Headers) is { } producer && producer != default ? [new ActivityLink(producer)] : null);
        if (activity is not null)
        {
            KafkaTracing.SetOperation(activity, "send", _options.DeadLetterTopic);
            activity.SetTag("error.type", rejection.Code);
            activity.SetTag("ecommerce.dead_letter.reason", rejection.Reason);
            activity.SetTag("ecommerce.source.partition", record.Partition.Value);
            activity.SetTag("ecommerce.source.offset", record.Offset.Value);
        }

        return await _producer.ProduceAsync(
            _options.DeadLetterTopic, new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers }, cancellationToken);
    }

    /// <summary>The bytes, or their first <paramref name="limit"/> with a header giving the original size.</summary>
    private static byte[]? Bounded(byte[]? bytes, int limit, Headers headers, string header)
    {
        if (bytes is null || bytes.Length <= limit)
        {
            return bytes;
        }

        AddText(headers, header, bytes.Length.ToString(CultureInfo.InvariantCulture));
        return bytes.AsSpan(0, limit).ToArray();
    }

    private static bool IsTooLarge(ErrorCode code) =>
        code is ErrorCode.MsgSizeTooLarge or ErrorCode.RecordListTooLarge;

    private static bool IsPermanent(ErrorCode code) =>
        IsTooLarge(code) || code is ErrorCode.TopicAuthorizationFailed or ErrorCode.ClusterAuthorizationFailed or ErrorCode.InvalidRecord;

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }

    /// <summary>Adds a header whose value is text, as every dead-letter and replay header is (UTF-8).</summary>
    internal static void AddText(Headers headers, string key, string value) => headers.Add(key, Encoding.UTF8.GetBytes(value));

    [LoggerMessage(Level = LogLevel.Warning, Message = "The dead letter of {Topic}[{Partition}]@{Offset} is too large for the dead-letter topic ({Reason}); sending it with its metadata only")]
    private partial void LogTooLarge(string topic, int partition, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The dead-letter topic refused the dead letter of {Topic}[{Partition}]@{Offset} ({Code}) for good: {Reason}. Ingestion goes on without it; the event is still in {Topic} at that offset.")]
    private partial void LogRefused(string topic, int partition, long offset, string code, string reason);
}
