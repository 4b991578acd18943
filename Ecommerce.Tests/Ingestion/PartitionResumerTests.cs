using Confluent.Kafka;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.ServiceDefaults.Messaging;
using Ecommerce.Tests.Infrastructure;
using Ecommerce.Tests.Warehouse;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ecommerce.Tests.Ingestion;

/// <summary>
/// Choosing where to resume runs inside librdkafka's rebalance callback, where an exception ends the consumer: it
/// must come back with an answer whatever the broker and the warehouse do.
/// </summary>
public sealed class PartitionResumerTests(EmbeddedKafka kafka) : IClassFixture<EmbeddedKafka>
{
    [Fact]
    public async Task With_the_broker_down_partitions_resume_at_the_warehouses_offsets_unchecked_instead_of_failing_the_assignment()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.DuckDb);
        await bed.Writer.WriteAsync([], [new PartitionProgress("orders", 0, 5, "digest")], CancellationToken.None);
        using var parts = new Parts(kafka, bed.Writer);
        var (resumer, consumer) = (parts.Resumer, parts.Consumer);

        kafka.Broker.TakeDown();
        try
        {
            var starts = resumer.ChooseStartOffsets(consumer, [new TopicPartition("orders", 0), new TopicPartition("orders", 1)]);

            Assert.Equal([(0, 5L), (1, Offset.Beginning.Value)], starts.Select(s => (s.Partition.Value, s.Offset.Value)));
        }
        finally
        {
            kafka.Broker.BringUp();
        }
    }

    [Fact]
    public void With_the_warehouse_failing_partitions_resume_at_kafkas_committed_offsets()
    {
        using var parts = new Parts(kafka, new StarSchemaWriter(new FailingWarehouse(), TimeProvider.System));

        var starts = parts.Resumer.ChooseStartOffsets(parts.Consumer, [new TopicPartition("orders", 0)]);

        Assert.Equal([Offset.Stored], starts.Select(s => s.Offset));
    }

    /// <summary>A resumer as the service builds it, and a consumer of the test's broker outside any group.</summary>
    private sealed class Parts : IDisposable
    {
        private readonly TestMeters _meters = new();

        public Parts(EmbeddedKafka kafka, StarSchemaWriter writer)
        {
            var settings = new KafkaConsumerSettings { DisableMetrics = true };
            settings.Config.BootstrapServers = kafka.BootstrapServers;
            var consumers = new KafkaConsumerFactory<byte[]?, byte[]?>(settings, new KafkaClientMetrics(_meters.Factory), NullLoggerFactory.Instance);
            var status = new IngestionStatus();
            Resumer = new PartitionResumer(writer, consumers,
                new UpstreamGapReporter(status, new IngestionMetrics(status, _meters.Factory), TimeProvider.System, NullLogger<UpstreamGapReporter>.Instance), NullLogger<PartitionResumer>.Instance);
            Consumer = consumers.Create(c => c.GroupId = $"resumer-{Guid.NewGuid():N}");
        }

        public PartitionResumer Resumer { get; }

        public IConsumer<byte[]?, byte[]?> Consumer { get; }

        public void Dispose()
        {
            Consumer.Dispose();
            _meters.Dispose();
        }
    }

    /// <summary>A warehouse that cannot be reached at all.</summary>
    private sealed class FailingWarehouse : IWarehouseProvider
    {
        public string SystemName => "unreachable";

        public Task ExecuteScriptAsync(string script, CancellationToken cancellationToken) => throw new IOException("unreachable");

        public Task<IReadOnlyList<object?[]>> QueryAsync(SqlStatement statement, CancellationToken cancellationToken) => throw new IOException("unreachable");

        public Task AppendAsync(SqlStatement statement, CancellationToken cancellationToken) => throw new IOException("unreachable");

        public Task ExecuteTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken) => throw new IOException("unreachable");

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
