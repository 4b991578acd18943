using System.Globalization;
using System.Text;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Consumer.Ingestion.Landing;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Tests.Infrastructure;
using Ecommerce.Tests.Warehouse.Differential;

namespace Ecommerce.Tests.Warehouse;

/// <summary>The Landed write path's own rules, on both warehouses: what a modelling cycle may take, and what it records.</summary>
public sealed class LandedPathTests(EmbeddedKafka kafka) : IClassFixture<EmbeddedKafka>
{
    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task A_modelling_cycle_overtaken_by_another_is_refused_and_every_landed_row_keeps_one_outcome(string warehouse)
    {
        var topic = $"orders.landed.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var first = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic, IngestionWritePath.Landed);
            using var second = new IngestionWriter(1, bed.OpenAnotherProvider(), bed.Time, publishers[1], topic, IngestionWritePath.Landed);

            // o-1 lands and is modelled; then the same record lands twice more (a retried landing, a partition that moved).
            Assert.NotNull(await first.Batches.WriteAsync(Batch(topic), retry: false, CancellationToken.None));
            Assert.Equal(1, await first.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.NotNull(await first.Batches.WriteAsync(Batch(topic), retry: false, CancellationToken.None));
            Assert.NotNull(await second.Batches.WriteAsync(Batch(topic), retry: false, CancellationToken.None));

            // The first modeller reads the two waiting copies (redeliveries: nothing for the star schema to check); before
            // its transaction, the second models them. The first must not record them again.
            first.Warehouse.BeforeNextTransaction = async () => Assert.Equal(2, await second.Modeller.ModelOnceAsync(CancellationToken.None));
            await Assert.ThrowsAsync<StaleReadException>(() => first.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.Equal(0, await first.Modeller.ModelOnceAsync(CancellationToken.None));

            Assert.Equal(["DUPLICATE 2", "NEW 1"], await OutcomesAsync(bed, topic));
            Assert.Equal(1L, await bed.CountAsync("FACT_ORDERS"));
        });
    }

    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task A_cycle_with_a_new_order_whose_redelivery_another_cycle_took_meanwhile_is_refused(string warehouse)
    {
        // The overtaken cycle has a new order, so it runs the batch's currency check, which must count the taken landings
        // as well: nothing else in the cycle changed (no one stored o-2, no history moved).
        var topic = $"orders.landed.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var first = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic, IngestionWritePath.Landed);
            using var second = new IngestionWriter(1, bed.OpenAnotherProvider(), bed.Time, publishers[1], topic, IngestionWritePath.Landed, maxModelledPerCycle: 1);

            // o-1 is modelled; then it lands again at offset 0, and a new order, o-2 of another customer, at offset 1.
            Assert.NotNull(await first.Batches.WriteAsync(Batch(topic), retry: false, CancellationToken.None));
            Assert.Equal(1, await first.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.NotNull(await first.Batches.WriteAsync(Batch(topic), retry: false, CancellationToken.None));
            var next = IngestionWriter.BatchOf(topic, 0, IngestionWriter.Order.Replace("\"o-1\"", "\"o-2\"", StringComparison.Ordinal).Replace("\"C1\"", "\"C2\"", StringComparison.Ordinal), offset: 1);
            Assert.NotNull(await first.Batches.WriteAsync(next, retry: false, CancellationToken.None));

            // The first modeller reads both; before its transaction, the second takes the redelivery alone (its cap).
            first.Warehouse.BeforeNextTransaction = async () => Assert.Equal(1, await second.Modeller.ModelOnceAsync(CancellationToken.None));
            var refused = await Assert.ThrowsAsync<StaleReadException>(() => first.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.Contains("ECOMMERCE_STALE_READ: 1 landed orders were modelled by another transaction", refused.InnerException?.Message, StringComparison.Ordinal);
            Assert.Equal(1, await first.Modeller.ModelOnceAsync(CancellationToken.None));

            Assert.Equal(["DUPLICATE 1", "NEW 2"], await OutcomesAsync(bed, topic));
            Assert.Equal(2L, await bed.CountAsync("FACT_ORDERS"));
        });
    }

    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task A_cycle_whose_new_order_another_writer_stores_with_other_content_meanwhile_is_refused_and_then_dead_letters_it(string warehouse)
    {
        // On Snowflake only the mark on FACT_ORDERS can see this race (on DuckDB the check reads the facts): the other
        // copy is another customer's, so the cycle's own customers' versions are untouched, and it comes from no landing,
        // so no claim of the cycle is taken.
        var topic = $"orders.landed.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var modeller = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic, IngestionWritePath.Landed);
            using var direct = new IngestionWriter(1, bed.OpenAnotherProvider(), bed.Time, publishers[1], topic);

            Assert.NotNull(await modeller.Batches.WriteAsync(IngestionWriter.BatchOf(topic, 0, IngestionWriter.OrderAt("o-1", "C2", "South", "10:00")), retry: false, CancellationToken.None));
            modeller.Warehouse.BeforeNextTransaction = async () =>
                Assert.NotNull(await direct.Batches.WriteAsync(IngestionWriter.BatchOf(topic, 1, IngestionWriter.Order), retry: false, CancellationToken.None));
            var refused = await Assert.ThrowsAsync<StaleReadException>(() => modeller.Modeller.ModelOnceAsync(CancellationToken.None));
            // Refused by the check itself (its conversion error names the refusal), not by some other failure of the cycle.
            Assert.Contains("ECOMMERCE_STALE_READ: 1 rows changed", refused.InnerException?.Message, StringComparison.Ordinal);
            Assert.Equal(1, await modeller.Modeller.ModelOnceAsync(CancellationToken.None));

            Assert.Equal(["CONFLICT 1"], await OutcomesAsync(bed, topic));
            Assert.Equal(["o-1 C1"], (await bed.QueryAsync("SELECT ORDER_ID, CUSTOMER_ID FROM FACT_ORDERS")).Select(r => $"{r[0]} {r[1]}"));
            Assert.Equal([ReferenceModel.DeadLetterLine(0, 0, Rejection.ConflictCode)],
                WarehouseComparison.ReadDeadLetters(kafka.BootstrapServers, IngestionWriter.DeadLetterTopic, topic).Distinct());
        });
    }

    [Fact]
    public async Task A_direct_batch_and_a_modelling_cycle_storing_one_order_at_once_take_turns_at_the_facts_and_neither_stores_it_twice()
    {
        // On Snowflake the two transactions lock different tables first (INGESTION_OFFSETS; LANDED_OUTCOMES) and meet at
        // FACT_ORDERS half-way, both in flight: the second to reach it waits for the first's commit, then finds the order
        // stored (refused, or a duplicate on its next try). Neither may wait for a table the other holds while holding
        // one the other needs: a deadlock would time out here.
        var topic = $"orders.landed.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.Snowflake);
        var snowflake = bed.SnowflakeDouble!;
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var modeller = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic, IngestionWritePath.Landed);
            using var direct = new IngestionWriter(1, bed.OpenAnotherProvider(), bed.Time, publishers[1], topic);
            Assert.NotNull(await modeller.Batches.WriteAsync(Batch(topic), retry: false, CancellationToken.None));
            snowflake.StatementLatency = TimeSpan.FromMilliseconds(300);
            var transactionsBefore = snowflake.Runs.Count(r => r.Kind == "transaction");

            // Once the cycle is planned, the direct batch of the same order (another partition) starts; the cycle's
            // transaction follows as soon as the batch's has arrived.
            Task<IReadOnlyList<PartitionProgress>?>? writing = null;
            modeller.Warehouse.BeforeNextTransaction = async () =>
            {
                var arrived = snowflake.Requests.Count(r => r.IsBatchTransaction);
                // Retried if refused: whichever of the two reaches FACT_ORDERS first stores o-1.
                writing = direct.Batches.WriteAsync(IngestionWriter.BatchOf(topic, 1, IngestionWriter.Order), retry: true, CancellationToken.None);
                while (snowflake.Requests.Count(r => r.IsBatchTransaction) == arrived)
                {
                    await Task.Delay(20);
                }
            };

            var modelled = 0;
            try
            {
                modelled = await modeller.Modeller.ModelOnceAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch (StaleReadException)
            {
                // The batch stored o-1 first; the cycle's next try takes its landed copy as a duplicate.
                modelled = await modeller.Modeller.ModelOnceAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
            }

            Assert.NotNull(await writing!.WaitAsync(TimeSpan.FromSeconds(60)));
            Assert.Equal(1, modelled);

            // The two transactions were in flight at the same time (the cycle's started before the batch's ended).
            var both = snowflake.Runs.Where(r => r.Kind == "transaction").Skip(transactionsBefore).Take(2).ToArray();
            Assert.Equal(2, both.Length);
            Assert.True(both.Max(r => r.Started) < both.Min(r => r.Finished), string.Join("; ", both.Select(r => $"{r.Started}..{r.Finished}")));
            Assert.Equal(["o-1 C1"], (await bed.QueryAsync("SELECT ORDER_ID, CUSTOMER_ID FROM FACT_ORDERS WHERE BATCH_ID IS NULL")).Select(r => $"{r[0]} {r[1]}"));
            Assert.Equal(1L, Convert.ToInt64((await bed.QueryAsync("SELECT SUM(ORDER_COUNT) FROM DIM_CUSTOMER WHERE CUSTOMER_ID = 'C1'"))[0][0], CultureInfo.InvariantCulture));
            Assert.Single(await OutcomesAsync(bed, topic));
        });
    }

    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task One_process_holds_the_modelling_lease_until_it_gives_it_up_or_lets_it_expire(string warehouse)
    {
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        var duration = TimeSpan.FromSeconds(30);
        var first = new ModelLease(bed.Provider, bed.Time, duration);
        var second = new ModelLease(bed.OpenAnotherProvider(), bed.Time, duration);
        var third = new ModelLease(bed.OpenAnotherProvider(), bed.Time, duration);

        Assert.True(await first.HoldAsync(CancellationToken.None)); // On a new warehouse: the row is made, then taken.
        Assert.False(await second.HoldAsync(CancellationToken.None));
        await first.ReleaseAsync(CancellationToken.None);
        Assert.True(await second.HoldAsync(CancellationToken.None));
        Assert.False(await third.HoldAsync(CancellationToken.None));

        bed.Time.Advance(duration + TimeSpan.FromSeconds(1)); // The holder went silent.
        Assert.True(await third.HoldAsync(CancellationToken.None));
        Assert.Equal([third.Holder], (await bed.QueryAsync("SELECT HOLDER FROM MODEL_LEASE")).Select(r => (string?)r[0]));
    }

    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task A_modelling_cycle_takes_at_most_its_cap_round_the_partitions_lowest_offsets_first(string warehouse)
    {
        // Ingestion:MaxModelledPerCycle bounds what a cycle holds in memory whatever the backlog; taken round the
        // partitions, every partition's share is a prefix of its waiting rows, so within a partition the first delivery of
        // an order id is always modelled first.
        var topic = $"orders.landed.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var writer = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic, IngestionWritePath.Landed, maxModelledPerCycle: 7);
            foreach (var (partition, count) in new[] { (0, 5), (1, 5), (2, 2) })
            {
                var batch = new PendingBatch();
                for (var offset = 0; offset < count; offset++)
                {
                    var order = IngestionWriter.Order.Replace("\"o-1\"", $"\"o-{partition}-{offset}\"", StringComparison.Ordinal)
                        .Replace("\"C1\"", $"\"C{partition}{offset}\"", StringComparison.Ordinal);
                    IngestionWriter.Read(batch, topic, partition, offset, key: null, Encoding.UTF8.GetBytes(order));
                }

                Assert.NotNull(await writer.Batches.WriteAsync(batch, retry: false, CancellationToken.None));
            }

            Assert.Equal(7, await writer.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.Equal(["0:0", "0:1", "0:2", "1:0", "1:1", "2:0", "2:1"], await ModelledAsync(bed, topic));
            Assert.Equal(5, await writer.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.Equal(0, await writer.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.Equal(12L, await bed.CountAsync("FACT_ORDERS"));
        });
    }

    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task Rows_of_a_landing_that_is_not_whole_wait_so_an_earlier_offset_landed_later_is_still_modelled_first(string warehouse)
    {
        // A landing's orders go in several statements that commit apart, its progress after them all. Here the later of
        // two deliveries of o-1 (offset 1, another price: a conflict) has landed and the landing then failed before the
        // earlier one and the progress: a cycle must not take it, or offset 1 would win over offset 0.
        var topic = $"orders.landed.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var writer = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic, IngestionWritePath.Landed);
            var later = IngestionWriter.Order.Replace("2.5", "9.5", StringComparison.Ordinal);
            var partial = new PendingBatch();
            IngestionWriter.Read(partial, topic, partition: 0, offset: 1, key: null, Encoding.UTF8.GetBytes(later));
            writer.Warehouse.NextTransactionFault = InterceptingWarehouse.Fault.AfterCommit; // The orders landed; no progress.
            Assert.Null(await writer.Batches.WriteAsync(partial, retry: false, CancellationToken.None));

            Assert.Equal(0, await writer.Modeller.ModelOnceAsync(CancellationToken.None));

            // The partition is read again from its resume point and lands whole: offset 0, then offset 1.
            var whole = new PendingBatch();
            IngestionWriter.Read(whole, topic, partition: 0, offset: 0, key: null, Encoding.UTF8.GetBytes(IngestionWriter.Order));
            IngestionWriter.Read(whole, topic, partition: 0, offset: 1, key: null, Encoding.UTF8.GetBytes(later));
            Assert.NotNull(await writer.Batches.WriteAsync(whole, retry: false, CancellationToken.None));

            // All three rows now: the partial landing's copy of offset 1 is behind the partition's progress, so it is taken
            // as well, and no landed row waits for ever.
            Assert.Equal(3, await writer.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.Equal(2.5m, Convert.ToDecimal((await bed.QueryAsync("SELECT PRICE FROM FACT_ORDERS WHERE ORDER_ID = 'o-1'"))[0][0], CultureInfo.InvariantCulture));
            Assert.Equal(["CONFLICT 2", "NEW 1"], await OutcomesAsync(bed, topic));
        });
    }

    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task A_row_of_a_landing_that_becomes_visible_between_the_offsets_a_cycle_took_from_it_is_left_for_the_next_cycle(string warehouse)
    {
        // A cycle stages its claims as ranges of offsets of one landing. A landing that failed part way has its rows
        // taken once the partition's progress has passed them, but its statements commit apart: offset 2 of it may become
        // visible after the cycle read offsets 0, 1 and 3. A range from 0 to 3 would record an outcome for a row the cycle
        // never read (and, were it new, store its order a second time); the range must stop at the gap.
        var topic = $"orders.landed.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var writer = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic, IngestionWritePath.Landed);
            string[] orders =
            [
                IngestionWriter.OrderAt("o-1", "C1", "North", "10:00"), IngestionWriter.OrderAt("o-2", "C2", "North", "10:01"),
                IngestionWriter.OrderAt("o-3", "C3", "North", "10:02"), IngestionWriter.OrderAt("o-4", "C4", "North", "10:03"),
            ];
            var partial = new PendingBatch();
            foreach (var offset in (int[])[0, 1, 3])
            {
                IngestionWriter.Read(partial, topic, partition: 0, offset, key: null, Encoding.UTF8.GetBytes(orders[offset]));
            }

            writer.Warehouse.NextTransactionFault = InterceptingWarehouse.Fault.AfterCommit; // The orders landed; no progress.
            Assert.Null(await writer.Batches.WriteAsync(partial, retry: false, CancellationToken.None));
            var whole = new PendingBatch();
            for (var offset = 0; offset < orders.Length; offset++)
            {
                IngestionWriter.Read(whole, topic, partition: 0, offset, key: null, Encoding.UTF8.GetBytes(orders[offset]));
            }

            Assert.NotNull(await writer.Batches.WriteAsync(whole, retry: false, CancellationToken.None));
            var wholeLanding = (string)(await bed.QueryAsync("SELECT LANDING_ID FROM LANDED_ORDERS WHERE SOURCE_TOPIC = ? AND SOURCE_OFFSET = 2", topic))[0][0]!;
            var partialLanding = (string)(await bed.QueryAsync("SELECT MIN(LANDING_ID) FROM LANDED_ORDERS WHERE SOURCE_TOPIC = ? AND LANDING_ID <> ?", topic, wholeLanding))[0][0]!;

            // The cycle reads seven rows; then the partial landing's offset 2 commits, before the cycle's transaction.
            writer.Warehouse.BeforeNextTransaction = () => bed.QueryAsync(
                """
                INSERT INTO LANDED_ORDERS (
                    LANDING_ID, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, ORDER_ID, ORDER_TIMESTAMP, CUSTOMER_ID, CUSTOMER_NAME,
                    CUSTOMER_REGION, PRODUCT_ID, PRODUCT_NAME, CATEGORY, PRICE, QUANTITY, CONTENT_DIGEST, RECORD_KEY, RECORD_VALUE, LANDED_AT)
                SELECT ?, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, ORDER_ID, ORDER_TIMESTAMP, CUSTOMER_ID, CUSTOMER_NAME,
                    CUSTOMER_REGION, PRODUCT_ID, PRODUCT_NAME, CATEGORY, PRICE, QUANTITY, CONTENT_DIGEST, RECORD_KEY, RECORD_VALUE, LANDED_AT
                FROM LANDED_ORDERS
                WHERE LANDING_ID = ? AND SOURCE_TOPIC = ? AND SOURCE_OFFSET = 2
                """, partialLanding, wholeLanding, topic);
            Assert.Equal(7, await writer.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.Equal(["DUPLICATE 3", "NEW 4"], await OutcomesAsync(bed, topic));
            Assert.Empty(await bed.QueryAsync("SELECT OUTCOME FROM LANDED_OUTCOMES WHERE LANDING_ID = ? AND SOURCE_TOPIC = ? AND SOURCE_OFFSET = 2", partialLanding, topic));

            // The late row waited, and is a redelivery of the order stored meanwhile.
            Assert.Equal(1, await writer.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.Equal(["DUPLICATE 4", "NEW 4"], await OutcomesAsync(bed, topic));
            Assert.Equal(4L, await bed.CountAsync("FACT_ORDERS"));
        });
    }

    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task Landed_orders_modelled_before_the_retention_are_deleted_with_their_outcomes_and_waiting_ones_are_kept(string warehouse)
    {
        // Ingestion:LandedRetention: the landed orders and their outcomes stop growing. What was modelled long enough ago goes, row and
        // outcome together; a row still waiting stays however old; a redelivery of a pruned order is still a duplicate
        // (the facts tell, not the landing).
        var topic = $"orders.landed.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var writer = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic, IngestionWritePath.Landed);
            var second = IngestionWriter.OrderAt("o-2", "C2", "North", "10:01");
            Assert.NotNull(await writer.Batches.WriteAsync(Batch(topic), retry: false, CancellationToken.None));
            Assert.Equal(1, await writer.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.NotNull(await writer.Batches.WriteAsync(IngestionWriter.BatchOf(topic, 0, second, offset: 1), retry: false, CancellationToken.None));

            bed.Time.Advance(TimeSpan.FromHours(2));
            await writer.Modeller.PruneAsync(bed.Time.GetUtcNow().UtcDateTime - TimeSpan.FromHours(1), CancellationToken.None);

            Assert.Equal((long[])[1L], await LandedOffsetsAsync(bed, topic)); // o-2 waits: kept.
            Assert.Empty(await OutcomesAsync(bed, topic));
            Assert.Equal(1, await writer.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.NotNull(await writer.Batches.WriteAsync(IngestionWriter.BatchOf(topic, 0, IngestionWriter.Order, offset: 2), retry: false, CancellationToken.None));
            Assert.Equal(1, await writer.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.Equal(["DUPLICATE 1", "NEW 1"], await OutcomesAsync(bed, topic));
            Assert.Equal(2L, await bed.CountAsync("FACT_ORDERS"));

            // Modelled within the retention: nothing goes.
            await writer.Modeller.PruneAsync(bed.Time.GetUtcNow().UtcDateTime - TimeSpan.FromHours(1), CancellationToken.None);
            Assert.Equal((long[])[1L, 2L], await LandedOffsetsAsync(bed, topic));
            Assert.Equal(["DUPLICATE 1", "NEW 1"], await OutcomesAsync(bed, topic));
        });
    }

    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task Orders_landed_before_a_partition_is_found_to_have_another_history_are_still_modelled(string warehouse)
    {
        // After the embedded broker restarts, every partition's offsets start again, and its stored resume points are
        // forgotten. Orders landed whole before that, and not yet modelled, are still orders the store took.
        var topic = $"orders.landed.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var writer = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic, IngestionWritePath.Landed);
            Assert.NotNull(await writer.Batches.WriteAsync(Batch(topic), retry: false, CancellationToken.None));
            Assert.Equal([(0, 1L)], await ResumePointsAsync(bed, topic));

            await bed.Writer.ResetOffsetAsync(topic, 0, CancellationToken.None);

            Assert.Empty(await ResumePointsAsync(bed, topic));
            Assert.Equal(1, await writer.Modeller.ModelOnceAsync(CancellationToken.None));
            Assert.Equal(["NEW 1"], await OutcomesAsync(bed, topic));
        });
    }

    [Theory]
    [InlineData(WarehouseTestBed.DuckDb)]
    [InlineData(WarehouseTestBed.Snowflake)]
    public async Task A_cycle_prepared_while_the_one_before_it_runs_is_planned_on_top_of_it_and_commits_after_it(string warehouse)
    {
        // The modelling service prepares the next cycle while a cycle's transaction runs. Planned from what the warehouse
        // held before that transaction, the next cycle would be refused whenever the two share a customer or an order id
        // (its checks would find the history changed, the order stored); planned on top of it, it commits, late orders
        // among the running cycle's versions included.
        var topic = $"orders.landed.{Guid.NewGuid():N}";
        await using var bed = await WarehouseTestBed.CreateAsync(warehouse);
        await DifferentialRun.WithPublishersAsync(kafka.BootstrapServers, async publishers =>
        {
            using var writer = new IngestionWriter(0, bed.Provider, bed.Time, publishers[0], topic, IngestionWritePath.Landed, maxModelledPerCycle: 3);
            var batch = new PendingBatch();
            string[] orders =
            [
                IngestionWriter.OrderAt("o-1", "C1", "North", "10:00"), IngestionWriter.OrderAt("o-2", "C1", "North", "10:05"), IngestionWriter.OrderAt("o-3", "C2", "North", "10:06"),
                IngestionWriter.OrderAt("o-4", "C1", "South", "10:10"), IngestionWriter.OrderAt("o-1", "C1", "North", "10:00"), IngestionWriter.OrderAt("o-7", "C1", "North", "10:04"),
                IngestionWriter.OrderAt("o-6", "C1", "North", "10:03"),
            ];
            for (var offset = 0; offset < orders.Length; offset++)
            {
                IngestionWriter.Read(batch, topic, partition: 0, offset, key: null, Encoding.UTF8.GetBytes(orders[offset]));
            }

            Assert.NotNull(await writer.Batches.WriteAsync(batch, retry: false, CancellationToken.None));

            var first = await writer.Modeller.PrepareAsync(null, CancellationToken.None);
            Assert.NotNull(first);
            var second = await writer.Modeller.PrepareAsync(first, CancellationToken.None);
            // Offsets 3 to 5: o-4 changes C1's region, o-1 again is a redelivery of the first cycle's, o-7 is late among
            // the orders of C1's version that the first cycle writes.
            Assert.NotNull(second);
            Assert.Equal(3, await writer.Modeller.WriteAsync(first, CancellationToken.None));

            // o-6 is late too: it falls among the orders of C1's first version, one of which (o-7) the second cycle has
            // not stored yet; the third cycle places it among the orders stored and about to be.
            var third = await writer.Modeller.PrepareAsync(second, CancellationToken.None);
            Assert.NotNull(third);
            Assert.Equal(3, await writer.Modeller.WriteAsync(second, CancellationToken.None));
            Assert.Equal(1, await writer.Modeller.WriteAsync(third, CancellationToken.None));
            Assert.Equal(0, await writer.Modeller.ModelOnceAsync(CancellationToken.None));

            Assert.Equal(["DUPLICATE 1", "NEW 6"], await OutcomesAsync(bed, topic));
            var versions = (await bed.VersionsAsync("C1")).Select(v => $"{v.Region} {v.From:HH:mm} {v.To:HH:mm}").ToArray();
            Assert.Equal(["North 10:00 10:10", "South 10:10 "], versions);
            var counts = (await bed.QueryAsync("SELECT CUSTOMER_REGION, ORDER_COUNT, LAST_SEEN_AT FROM DIM_CUSTOMER WHERE CUSTOMER_ID = 'C1' ORDER BY VALID_FROM"))
                .Select(r => string.Create(CultureInfo.InvariantCulture, $"{r[0]} {Convert.ToInt64(r[1], CultureInfo.InvariantCulture)} {(DateTime)r[2]!:HH:mm}"));
            Assert.Equal(["North 4 10:05", "South 1 10:10"], counts);
            var pointing = (await bed.QueryAsync(
                    "SELECT f.ORDER_ID, c.CUSTOMER_REGION FROM FACT_ORDERS AS f JOIN DIM_CUSTOMER AS c ON c.CUSTOMER_SK = f.CUSTOMER_SK WHERE f.CUSTOMER_ID = 'C1' ORDER BY f.ORDER_ID"))
                .Select(r => $"{r[0]} {r[1]}");
            Assert.Equal(["o-1 North", "o-2 North", "o-4 South", "o-6 North", "o-7 North"], pointing);
            Assert.Equal(6L, await bed.CountAsync("FACT_ORDERS")); // o-1 to o-7 but o-5.
        });
    }


    private static async Task<string[]> OutcomesAsync(WarehouseTestBed bed, string topic) =>
        (await bed.QueryAsync("SELECT OUTCOME, COUNT(*) FROM LANDED_OUTCOMES WHERE SOURCE_TOPIC = ? GROUP BY OUTCOME ORDER BY OUTCOME", topic))
        .Select(r => string.Create(CultureInfo.InvariantCulture, $"{r[0]} {Convert.ToInt64(r[1], CultureInfo.InvariantCulture)}"))
        .ToArray();

    private static async Task<long[]> LandedOffsetsAsync(WarehouseTestBed bed, string topic) =>
        (await bed.QueryAsync("SELECT SOURCE_OFFSET FROM LANDED_ORDERS WHERE SOURCE_TOPIC = ? ORDER BY SOURCE_OFFSET", topic))
        .Select(r => Convert.ToInt64(r[0], CultureInfo.InvariantCulture))
        .ToArray();

    private static async Task<(int Partition, long NextOffset)[]> ResumePointsAsync(WarehouseTestBed bed, string topic) =>
        (await bed.Writer.ReadOffsetsAsync(topic, CancellationToken.None)).Select(p => (p.Partition, p.NextOffset)).ToArray();

    private static async Task<string[]> ModelledAsync(WarehouseTestBed bed, string topic) =>
        (await bed.QueryAsync("SELECT SOURCE_PARTITION, SOURCE_OFFSET FROM LANDED_OUTCOMES WHERE SOURCE_TOPIC = ? ORDER BY SOURCE_PARTITION, SOURCE_OFFSET", topic))
        .Select(r => string.Create(CultureInfo.InvariantCulture, $"{Convert.ToInt32(r[0], CultureInfo.InvariantCulture)}:{Convert.ToInt64(r[1], CultureInfo.InvariantCulture)}"))
        .ToArray();

    private static PendingBatch Batch(string topic) => IngestionWriter.BatchOf(topic, 0, IngestionWriter.Order);
}
