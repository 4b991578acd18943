using Ecommerce.Consumer.Ingestion;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Warehouse.Differential;

/// <summary>
/// An order id reused with other content on two partitions (a producer that sends an order again without a key can
/// do it), written by two writers: the one that loses the race sees the conflict only on its second attempt, and
/// must still dead-letter it.
/// </summary>
public sealed class ConflictRaceTests(EmbeddedKafka kafka) : IClassFixture<EmbeddedKafka>
{
    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task A_conflict_first_seen_on_a_retry_is_dead_lettered(string warehouse)
    {
        var topic = $"orders.race.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var loser = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic);
            using var winner = new IngestionWriter(1, bed.OpenAnotherProvider(), bed.Time, publishers[1], topic);

            const string first = IngestionWriter.Order;
            const string other = """{"order_id":"o-1","order_timestamp":"2026-03-01T10:00:00Z","customer_id":"C1","customer_name":"Ada","customer_region":"North","product_id":"P1","product_name":"Lamp","category":"Home","price":2.5,"quantity":7}""";

            // The loser reads o-1 (quantity 7) as new; before its transaction, the winner stores o-1 (quantity 1).
            loser.Warehouse.BeforeNextTransaction = async () => Assert.NotNull(await winner.Batches.WriteAsync(IngestionWriter.BatchOf(topic, 1, first), retry: true, CancellationToken.None));
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            Assert.NotNull(await loser.Batches.WriteAsync(IngestionWriter.BatchOf(topic, 0, other), retry: true, deadline.Token));

            Assert.Equal([1L], (await bed.QueryAsync("SELECT QUANTITY FROM FACT_ORDERS")).Select(r => Convert.ToInt64(r[0], System.Globalization.CultureInfo.InvariantCulture)));
            Assert.Equal([ReferenceModel.DeadLetterLine(0, 0, Rejection.ConflictCode)],
                WarehouseComparison.ReadDeadLetters(kafka.BootstrapServers, IngestionWriter.DeadLetterTopic, topic).Distinct());
        });
    }
}
