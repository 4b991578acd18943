using System.Text;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Tests.Infrastructure;
using Ecommerce.Tests.Warehouse.Differential;

namespace Ecommerce.Tests.Warehouse;

/// <summary>
/// Batches written as the service writes them on Snowflake (<see cref="BatchWriter.Pipelines"/>): the next one planned
/// and staged on top of the one whose transaction runs. Run on both warehouses (the suites' writers let DuckDB pipeline
/// too); the differential suites run such pairs among their schedules.
/// </summary>
public sealed class PipelinedBatchTests(EmbeddedKafka kafka) : IClassFixture<EmbeddedKafka>
{
    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task A_batch_planned_on_top_of_one_that_was_refused_and_planned_again_is_planned_again_too(string warehouse)
    {
        // The first batch reads o-1 as new; before its transaction, another writer stores o-1 with other content, so the
        // first is refused, and written again with o-1 as a conflict. The second batch, a redelivery of the first's o-1,
        // was planned while the first's transaction ran, counting o-1 as the first would have stored it: a duplicate.
        // Run as planned it would drop a conflict no check can see (a duplicate writes nothing); planned again, it
        // dead-letters it as the conflict it is.
        var topic = $"orders.pipelined.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var writer = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic);
            using var other = new IngestionWriter(1, bed.OpenAnotherProvider(), bed.Time, publishers[1], topic);
            // Once the second batch is planned and staged (its reads found no o-1), as on Snowflake while this runs (each
            // batch is staged apart from its transaction: the first before it, the second beside it).
            writer.Warehouse.HoldNextTransaction = () => writer.Warehouse.WaitForPreparedAsync(2, TimeSpan.FromSeconds(30));
            writer.Warehouse.BeforeNextTransaction = async () =>
                Assert.NotNull(await other.Batches.WriteAsync(IngestionWriter.BatchOf(topic, 1, IngestionWriter.Order.Replace("\"C1\"", "\"C2\"", StringComparison.Ordinal)), retry: false, CancellationToken.None));

            using var first = writer.Batches.Start(IngestionWriter.BatchOf(topic, 0, IngestionWriter.Order), retry: true);
            using var second = writer.Batches.Start(IngestionWriter.BatchOf(topic, 0, IngestionWriter.Order, offset: 1), retry: true, after: first);
            second.AbandonAfter(TimeSpan.FromSeconds(60));
            Assert.NotNull(await first.Completion);
            var progress = await second.Completion;

            Assert.NotNull(progress);
            Assert.Equal(2, Assert.Single(progress).NextOffset);
            Assert.False(second.StoredAsPreparedBeside); // Let go: planned again.
            Assert.Equal(["o-1 C2"], (await bed.QueryAsync("SELECT ORDER_ID, CUSTOMER_ID FROM FACT_ORDERS")).Select(r => $"{r[0]} {r[1]}"));
            Assert.Equal(
                [ReferenceModel.DeadLetterLine(0, 0, Rejection.ConflictCode), ReferenceModel.DeadLetterLine(0, 1, Rejection.ConflictCode)],
                WarehouseComparison.ReadDeadLetters(kafka.BootstrapServers, IngestionWriter.DeadLetterTopic, topic).Distinct().Order(StringComparer.Ordinal));
        });
    }

    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task A_late_order_planned_beside_the_batch_that_writes_its_version_lands_in_that_version(string warehouse)
    {
        // The first batch makes C1's history North (from 10:00) then South (from 12:00); the second, planned while the
        // first's transaction runs, brings a North order of 11:00: it belongs to the North version the first writes,
        // which the warehouse does not hold yet.
        var topic = $"orders.pipelined.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var writer = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic);
            writer.Warehouse.HoldNextTransaction = () => writer.Warehouse.WaitForPreparedAsync(2, TimeSpan.FromSeconds(30));
            var firstBatch = IngestionWriter.BatchOf(topic, 0, IngestionWriter.Order);
            IngestionWriter.Read(firstBatch, topic, 0, 1, key: null, Encoding.UTF8.GetBytes(IngestionWriter.OrderAt("o-2", "C1", "South", "12:00")));

            using var first = writer.Batches.Start(firstBatch, retry: true);
            using var second = writer.Batches.Start(IngestionWriter.BatchOf(topic, 0, IngestionWriter.OrderAt("o-3", "C1", "North", "11:00"), offset: 2), retry: true, after: first);
            second.AbandonAfter(TimeSpan.FromSeconds(60));

            Assert.NotNull(await first.Completion);
            Assert.Equal(3, Assert.Single(Assert.IsAssignableFrom<IReadOnlyList<PartitionProgress>>(await second.Completion)).NextOffset);
            Assert.True(second.StoredAsPreparedBeside);
            Assert.Equal(2, writer.Warehouse.Writes); // The second, as prepared beside the first, was not refused.
            Assert.Equal(
                ["North 2 current=False", "South 1 current=True"],
                (await bed.QueryAsync("SELECT CUSTOMER_REGION, ORDER_COUNT, IS_CURRENT FROM DIM_CUSTOMER WHERE CUSTOMER_ID = 'C1' ORDER BY VALID_FROM"))
                    .Select(r => $"{r[0]} {r[1]} current={r[2]}"));
            Assert.Equal(
                ["o-1 North", "o-2 South", "o-3 North"],
                (await bed.QueryAsync("SELECT f.ORDER_ID, c.CUSTOMER_REGION FROM FACT_ORDERS f JOIN DIM_CUSTOMER c ON c.CUSTOMER_SK = f.CUSTOMER_SK ORDER BY f.ORDER_ID"))
                    .Select(r => $"{r[0]} {r[1]}"));
        });
    }

}
