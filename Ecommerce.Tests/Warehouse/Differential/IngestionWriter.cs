using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Consumer.Ingestion.Landing;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.ServiceDefaults.Messaging;
using Ecommerce.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Ecommerce.Tests.Warehouse.Differential;

/// <summary>
/// One ingestion writer as the service builds it, in the test process: a real provider behind the test's hooks
/// (<see cref="InterceptingWarehouse"/>), the star-schema writer, the batch writer and the modeller, dead letters to
/// <c>orders.dlq</c>.
/// </summary>
public sealed class IngestionWriter : IDisposable
{
    public const string DeadLetterTopic = KafkaTopics.DeadLetters;

    private readonly TestMeters _meters = new();

    public IngestionWriter(int id, IWarehouseProvider provider, TimeProvider time, DeadLetterPublisher deadLetters, string topic,
        IngestionWritePath path = IngestionWritePath.Direct, int maxModelledPerCycle = 200_000)
    {
        Id = id;
        Warehouse = new InterceptingWarehouse(provider);
        var options = Options.Create(new IngestionOptions
        {
            Topic = topic, DeadLetterTopic = DeadLetterTopic, WritePath = path, MaxModelledPerCycle = maxModelledPerCycle,
        });
        var status = new IngestionStatus();
        var metrics = new IngestionMetrics(status, _meters.Factory);
        var writer = new StarSchemaWriter(Warehouse, time);
        Batches = new BatchWriter(writer, new LandingWriter(Warehouse, time), deadLetters, status, metrics, options, time, NullLogger<BatchWriter>.Instance);
        Modeller = new LandedOrderModeller(Warehouse, writer, deadLetters, status, metrics, options, time);
    }

    public int Id { get; }

    public InterceptingWarehouse Warehouse { get; }

    public BatchWriter Batches { get; }

    /// <summary>This writer's modeller (the Landed write path): one cycle per call, as the modelling service runs it.</summary>
    public LandedOrderModeller Modeller { get; }

    /// <summary>A record as the consumer would have read it, to add to a <see cref="PendingBatch"/>.</summary>
    public static void Read(PendingBatch batch, string topic, int partition, long offset, byte[]? key, byte[] value) =>
        batch.Add(ValidatedRecord.Of(new ConsumeResult<byte[]?, byte[]?>
        {
            Topic = topic,
            Partition = new Partition(partition),
            Offset = new Offset(offset),
            Message = new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = [] },
        }, latestAllowed: null), Stopwatch.GetTimestamp());

    /// <summary>One valid order event: o-1 of customer C1 (Ada, North) for product P1, at 10:00 on 2026-03-01.</summary>
    public const string Order = """{"order_id":"o-1","order_timestamp":"2026-03-01T10:00:00Z","customer_id":"C1","customer_name":"Ada","customer_region":"North","product_id":"P1","product_name":"Lamp","category":"Home","price":2.5,"quantity":1}""";

    /// <summary><see cref="Order"/> with another order id, customer, region and time of day (<c>hh:mm</c>).</summary>
    public static string OrderAt(string orderId, string customerId, string region, string time) =>
        Order.Replace("\"o-1\"", $"\"{orderId}\"", StringComparison.Ordinal)
            .Replace("\"C1\"", $"\"{customerId}\"", StringComparison.Ordinal)
            .Replace("\"North\"", $"\"{region}\"", StringComparison.Ordinal)
            .Replace("10:00:00Z", $"{time}:00Z", StringComparison.Ordinal);

    /// <summary>A batch of one record, the JSON <paramref name="json"/> with no key, as read at that position.</summary>
    public static PendingBatch BatchOf(string topic, int partition, string json, long offset = 0)
    {
        var batch = new PendingBatch();
        Read(batch, topic, partition, offset, key: null, Encoding.UTF8.GetBytes(json));
        return batch;
    }

    public void Dispose() => _meters.Dispose();
}
