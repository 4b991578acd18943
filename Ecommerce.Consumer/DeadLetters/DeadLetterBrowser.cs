using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.ServiceDefaults.Messaging;
using Microsoft.Extensions.Options;

namespace Ecommerce.Consumer.DeadLetters;

/// <summary>
/// Reads the dead-letter topic for people: lists dead letters (newest first, filtered by reason code and time) and
/// fetches chosen ones for a replay. Each request reads with a consumer of its own, assigned rather than subscribed:
/// it joins no group and commits nothing, so browsing never moves anyone's position.
/// </summary>
public sealed class DeadLetterBrowser(KafkaConsumerFactory<byte[]?, byte[]?> consumers, IOptions<IngestionOptions> options)
{
    /// <summary>The most dead letters one listing reads (the newest, spread over the partitions).</summary>
    public const int MaxScanned = 100_000;

    /// <summary>The most of a value a listing shows; a replay sends all of it.</summary>
    public const int ShownValueBytes = 4_096;

    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);
    private readonly string _topic = options.Value.DeadLetterTopic;

    public DeadLetterPage List(string? code, DateTimeOffset? from, DateTimeOffset? to, int limit, int skip)
    {
        using var consumer = CreateConsumer();
        var partitions = Partitions(consumer);
        var assignments = new List<TopicPartitionOffset>();
        var limitReached = false;
        foreach (var partition in partitions)
        {
            var marks = consumer.QueryWatermarkOffsets(partition, ReadTimeout);
            var start = Math.Max(marks.Low.Value, marks.High.Value - (MaxScanned / Math.Max(1, partitions.Count)));
            limitReached |= start > marks.Low.Value;
            if (marks.High.Value > start)
            {
                assignments.Add(new TopicPartitionOffset(partition, start));
            }
        }

        var matching = new List<DeadLetterView>();
        var byCode = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var scanned = 0;
        if (assignments.Count > 0)
        {
            consumer.Assign(assignments);
            var open = assignments.Select(a => a.Partition.Value).ToHashSet();
            while (open.Count > 0 && consumer.Consume(ReadTimeout) is { } record)
            {
                if (record.IsPartitionEOF)
                {
                    open.Remove(record.Partition.Value);
                    continue;
                }

                scanned++;
                var view = View(record, ShownValueBytes);
                if ((from is null || view.FailedAt >= from) && (to is null || view.FailedAt < to))
                {
                    byCode[view.Code ?? ""] = byCode.GetValueOrDefault(view.Code ?? "") + 1;
                    if (code is null || string.Equals(view.Code, code, StringComparison.Ordinal))
                    {
                        matching.Add(view);
                    }
                }
            }
        }

        var page = matching
            .OrderByDescending(v => v.FailedAt)
            .ThenBy(v => v.Partition)
            .ThenByDescending(v => v.Offset)
            .Skip(skip)
            .Take(limit)
            .ToArray();
        return new DeadLetterPage(matching.Count, scanned, limitReached, byCode, page);
    }

    /// <summary>The dead letters at the given places, whole; a place that holds none is left out.</summary>
    public Dictionary<DeadLetterPosition, ConsumeResult<byte[]?, byte[]?>> Read(IEnumerable<DeadLetterPosition> positions)
    {
        using var consumer = CreateConsumer();
        var found = new Dictionary<DeadLetterPosition, ConsumeResult<byte[]?, byte[]?>>();
        foreach (var position in positions.Distinct())
        {
            consumer.Assign(new TopicPartitionOffset(_topic, position.Partition, position.Offset));
            if (consumer.Consume(ReadTimeout) is { IsPartitionEOF: false } record && record.Offset.Value == position.Offset)
            {
                found[position] = record;
            }
        }

        return found;
    }

    /// <summary>What the API shows of a dead letter, its value cut to <paramref name="shownBytes"/>.</summary>
    public static DeadLetterView View(ConsumeResult<byte[]?, byte[]?> record, int shownBytes)
    {
        var headers = record.Message.Headers ?? [];
        string? Header(string name) => headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;
        long? Number(string name) => long.TryParse(Header(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

        var value = record.Message.Value ?? [];
        var shown = value.AsSpan(0, Math.Min(shownBytes, value.Length));
        var text = TryUtf8(shown);
        var originalValue = Number(DeadLetterPublisher.ValueTruncatedHeader);
        var incomplete = originalValue is not null || Header(DeadLetterPublisher.KeyTruncatedHeader) is not null
            || Header(DeadLetterPublisher.HeadersDroppedHeader) is not null;
        return new DeadLetterView(
            record.Partition.Value,
            record.Offset.Value,
            Header(DeadLetterPublisher.CodeHeader),
            Header(DeadLetterPublisher.ReasonHeader),
            DateTimeOffset.TryParse(Header(DeadLetterPublisher.FailedAtHeader), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at) ? at : null,
            new DeadLetterSource(Header(DeadLetterPublisher.SourceTopicHeader), (int?)Number(DeadLetterPublisher.SourcePartitionHeader), Number(DeadLetterPublisher.SourceOffsetHeader)),
            record.Message.Key is { } key ? TryUtf8(key) ?? Convert.ToBase64String(key) : null,
            text,
            text is null ? Convert.ToBase64String(shown) : null,
            shown.Length,
            value.Length,
            originalValue,
            Replayable: !incomplete && record.Message.Value is not null);
    }

    private static string? TryUtf8(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            // A cut may split a character: what is shown is then the base64 of the bytes.
            return null;
        }
    }

    private IConsumer<byte[]?, byte[]?> CreateConsumer() => consumers.Create(config =>
    {
        config.GroupId = $"ecommerce-dead-letter-browser-{Guid.NewGuid():N}";
        config.EnableAutoCommit = false;
        config.EnablePartitionEof = true;
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        config.ClientId = "ecommerce-dead-letter-browser";
    });

    private List<TopicPartition> Partitions(IConsumer<byte[]?, byte[]?> consumer)
    {
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var topic = admin.GetMetadata(_topic, ReadTimeout).Topics.FirstOrDefault(t => t.Topic == _topic);
        return topic is null || topic.Error.IsError
            ? []
            : topic.Partitions.Select(p => new TopicPartition(_topic, p.PartitionId)).ToList();
    }
}
