using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;

namespace Ecommerce.ServiceDefaults.Messaging;

/// <summary>
/// Turns librdkafka's periodic statistics (JSON) into OpenTelemetry instruments, with the names Aspire's Kafka
/// integration uses so existing dashboards and alerts keep working. Each client is a series, tagged with its
/// librdkafka handle name.
/// </summary>
public sealed class KafkaClientMetrics
{
    public const string MeterName = "Ecommerce.Messaging.Kafka";

    private readonly Meter _meter;
    private readonly ConcurrentDictionary<string, Snapshot> _latest = new();

    public KafkaClientMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(MeterName); // Owned, and disposed, by the factory.
        Gauge("messaging.kafka.consumer.queue.message_count", "{messages}", "Events waiting in the consumer's queue.", s => s.ReplyQueue, consumersOnly: true);
        Gauge("messaging.kafka.producer.queue.message_count", "{messages}", "Messages waiting to be sent.", s => s.MessageCount);
        Gauge("messaging.kafka.producer.queue.size", "By", "Bytes waiting to be sent.", s => s.MessageSize);
        Counter("messaging.kafka.network.tx", "{requests}", "Requests sent to brokers.", s => s.Tx);
        Counter("messaging.kafka.network.transmitted", "By", "Bytes sent to brokers.", s => s.TxBytes);
        Counter("messaging.kafka.network.rx", "{responses}", "Responses received from brokers.", s => s.Rx);
        Counter("messaging.kafka.network.received", "By", "Bytes received from brokers.", s => s.RxBytes);
        Counter("messaging.publish.messages", "{messages}", "Messages sent to brokers.", s => s.TxMessages);
        Counter("messaging.kafka.message.transmitted", "By", "Message bytes sent to brokers.", s => s.TxMessageBytes);
        Counter("messaging.receive.messages", "{messages}", "Messages received from brokers.", s => s.RxMessages);
        Counter("messaging.kafka.message.received", "By", "Message bytes received from brokers.", s => s.RxMessageBytes);
    }

    /// <summary>Feeds one statistics document, as passed to librdkafka's statistics callback.</summary>
    public void Record(string statisticsJson)
    {
        try
        {
            using var document = JsonDocument.Parse(statisticsJson);
            var root = document.RootElement;
            var name = root.TryGetProperty("name", out var n) ? n.GetString() ?? "unknown" : "unknown";
            _latest[name] = new Snapshot(
                IsConsumer: root.TryGetProperty("type", out var t) && t.GetString() == "consumer",
                ReplyQueue: Read(root, "replyq"),
                MessageCount: Read(root, "msg_cnt"),
                MessageSize: Read(root, "msg_size"),
                Tx: Read(root, "tx"),
                TxBytes: Read(root, "tx_bytes"),
                Rx: Read(root, "rx"),
                RxBytes: Read(root, "rx_bytes"),
                TxMessages: Read(root, "txmsgs"),
                TxMessageBytes: Read(root, "txmsg_bytes"),
                RxMessages: Read(root, "rxmsgs"),
                RxMessageBytes: Read(root, "rxmsg_bytes"));
        }
        catch (JsonException)
        {
            // A statistics document we cannot read costs one sample, never the client.
        }
    }

    /// <summary>The last statistics seen for each client, by handle name.</summary>
    public IReadOnlyDictionary<string, Snapshot> Latest => _latest;

    private static long Read(JsonElement root, string property) =>
        root.TryGetProperty(property, out var value) && value.TryGetInt64(out var number) ? number : 0;

    private void Gauge(string name, string unit, string description, Func<Snapshot, long> select, bool consumersOnly = false) =>
        _meter.CreateObservableGauge(name, () => Observe(select, consumersOnly), unit, description);

    private void Counter(string name, string unit, string description, Func<Snapshot, long> select) =>
        _meter.CreateObservableCounter(name, () => Observe(select, consumersOnly: false), unit, description);

    private IEnumerable<Measurement<long>> Observe(Func<Snapshot, long> select, bool consumersOnly) =>
        _latest
            .Where(entry => !consumersOnly || entry.Value.IsConsumer)
            .Select(entry => new Measurement<long>(select(entry.Value), new KeyValuePair<string, object?>("messaging.client_id", entry.Key)));

    public sealed record Snapshot(
        bool IsConsumer,
        long ReplyQueue,
        long MessageCount,
        long MessageSize,
        long Tx,
        long TxBytes,
        long Rx,
        long RxBytes,
        long TxMessages,
        long TxMessageBytes,
        long RxMessages,
        long RxMessageBytes);
}
