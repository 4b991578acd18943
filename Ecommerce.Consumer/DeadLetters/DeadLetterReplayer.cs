using System.Globalization;
using Confluent.Kafka;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.ServiceDefaults.Messaging;
using Microsoft.Extensions.Options;

namespace Ecommerce.Consumer.DeadLetters;

/// <summary>
/// Sends chosen dead letters to the orders topic again, once what refused them is fixed (a clock, a setting, the
/// validator). The event goes back byte for byte, with its own headers and headers saying where it comes from; the
/// pipeline then treats it as any event: ingested if now valid (exactly once: a second replay is a duplicate), or
/// dead-lettered again with the reason.
/// </summary>
public sealed partial class DeadLetterReplayer(
    DeadLetterBrowser browser,
    KafkaProducerFactory<byte[]?, byte[]?> producers,
    IOptions<IngestionOptions> options,
    TimeProvider time,
    ILogger<DeadLetterReplayer> logger) : IDisposable
{
    public const string DeadLetterTopicHeader = "replay.dead_letter.topic";
    public const string DeadLetterPartitionHeader = "replay.dead_letter.partition";
    public const string DeadLetterOffsetHeader = "replay.dead_letter.offset";
    public const string ReasonCodeHeader = "replay.reason.code";
    public const string ReplayedAtHeader = "replay.at";

    /// <summary>The most dead letters one request replays.</summary>
    public const int MaxPerRequest = 1_000;

    private readonly IngestionOptions _options = options.Value;
    private readonly Lazy<IProducer<byte[]?, byte[]?>> _producer = new(() => producers.Create(config =>
    {
        config.EnableIdempotence = true;
        config.Acks = Acks.All;
        config.ClientId ??= "ecommerce-dead-letter-replay";
    }));

    public async Task<IReadOnlyList<ReplayResult>> ReplayAsync(IReadOnlyList<DeadLetterPosition> positions, CancellationToken cancellationToken)
    {
        var found = await Task.Run(() => browser.Read(positions), cancellationToken);
        var replayedAt = time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        var results = new List<ReplayResult>(positions.Count);
        foreach (var position in positions)
        {
            if (!found.TryGetValue(position, out var record))
            {
                results.Add(new ReplayResult(position.Partition, position.Offset, false, $"no dead letter at partition {position.Partition}, offset {position.Offset} of {_options.DeadLetterTopic}", null, null));
                continue;
            }

            var view = DeadLetterBrowser.View(record, 0);
            if (!view.Replayable)
            {
                results.Add(new ReplayResult(position.Partition, position.Offset, false,
                    "the dead letter holds only part of the event (it was too large), so the event cannot be sent again as it was", null, null));
                continue;
            }

            var headers = new Headers();
            foreach (var header in record.Message.Headers ?? [])
            {
                if (!header.Key.StartsWith("dlq.", StringComparison.Ordinal) && !header.Key.StartsWith("replay.", StringComparison.Ordinal))
                {
                    headers.Add(header.Key, header.GetValueBytes());
                }
            }

            DeadLetterPublisher.AddText(headers, DeadLetterTopicHeader, record.Topic);
            DeadLetterPublisher.AddText(headers, DeadLetterPartitionHeader, record.Partition.Value.ToString(CultureInfo.InvariantCulture));
            DeadLetterPublisher.AddText(headers, DeadLetterOffsetHeader, record.Offset.Value.ToString(CultureInfo.InvariantCulture));
            DeadLetterPublisher.AddText(headers, ReasonCodeHeader, view.Code ?? "");
            DeadLetterPublisher.AddText(headers, ReplayedAtHeader, replayedAt);
            try
            {
                var delivery = await _producer.Value.ProduceAsync(_options.Topic,
                    new Message<byte[]?, byte[]?> { Key = record.Message.Key, Value = record.Message.Value, Headers = headers }, cancellationToken);
                LogReplayed(record.Partition.Value, record.Offset.Value, view.Code, delivery.Partition.Value, delivery.Offset.Value);
                results.Add(new ReplayResult(position.Partition, position.Offset, true, null, delivery.Partition.Value, delivery.Offset.Value));
            }
            catch (ProduceException<byte[]?, byte[]?> ex)
            {
                results.Add(new ReplayResult(position.Partition, position.Offset, false, $"{_options.Topic} refused it: {ex.Error.Reason}", null, null));
            }
        }

        return results;
    }

    public void Dispose()
    {
        if (_producer.IsValueCreated)
        {
            _producer.Value.Flush(TimeSpan.FromSeconds(10));
            _producer.Value.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dead letter {Partition}@{Offset} ({Code}) sent to the orders topic again, now partition {OrdersPartition} offset {OrdersOffset}")]
    private partial void LogReplayed(int partition, long offset, string? code, int ordersPartition, long ordersOffset);
}
