using Confluent.Kafka;
using Ecommerce.Hosting.Kafka;
using Ecommerce.ServiceDefaults.Messaging;

namespace Ecommerce.Tests.Infrastructure;

/// <summary>
/// A real Kafka-protocol broker for a test class: the AppHost's embedded broker (librdkafka's mock cluster) on a
/// free loopback port, with the pipeline's topics. Every test class gets a fresh, empty cluster.
/// </summary>
public sealed class EmbeddedKafka : IAsyncLifetime
{
    public const int Partitions = 12;

    public EmbeddedKafkaBroker Broker { get; private set; } = null!;

    public string BootstrapServers => Broker.BootstrapServers;

    public Task InitializeAsync()
    {
        Broker = EmbeddedKafkaBroker.Start(0, KafkaTopics.All.ToDictionary(t => t, _ => Partitions));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Broker.DisposeAsync();

    public IProducer<byte[]?, byte[]?> CreateProducer() =>
        new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 2,
        }).SetLogHandler((_, _) => { }).Build();

    /// <summary>Produces records and waits for every acknowledgement.</summary>
    public async Task ProduceAsync(string topic, IEnumerable<(string? Key, byte[]? Value)> records, Headers? headers = null)
    {
        using var producer = CreateProducer();
        var deliveries = records.Select(r => producer.ProduceAsync(topic, new Message<byte[]?, byte[]?>
        {
            Key = r.Key is null ? null : System.Text.Encoding.UTF8.GetBytes(r.Key),
            Value = r.Value,
            Headers = headers,
        })).ToList();
        await Task.WhenAll(deliveries);
    }

    /// <summary>Reads every record of a topic from the beginning until <paramref name="expected"/> arrived or time runs out.</summary>
    public List<ConsumeResult<byte[]?, byte[]?>> ReadAll(string topic, int expected, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = $"test-reader-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            EnablePartitionEof = false,
        }).SetLogHandler((_, _) => { }).Build();
        consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var records = new List<ConsumeResult<byte[]?, byte[]?>>();
        var deadline = DateTime.UtcNow + timeout;
        while (records.Count < expected && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } record)
            {
                records.Add(record);
            }
        }

        // A little longer, to catch records beyond the expected count (a duplicate would show here).
        var grace = DateTime.UtcNow + TimeSpan.FromMilliseconds(500);
        while (DateTime.UtcNow < grace)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { } record)
            {
                records.Add(record);
            }
        }

        consumer.Close();
        return records;
    }
}
