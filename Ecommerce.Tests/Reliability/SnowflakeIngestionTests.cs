using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using Ecommerce.Testing;
using Ecommerce.Testing.Snowflake;
using Ecommerce.Tests.Infrastructure;
using Ecommerce.Tests.Warehouse.Differential;

namespace Ecommerce.Tests.Reliability;

/// <summary>
/// The ingestion service, as a process, writing to Snowflake through the SQL API test double while the double
/// misbehaves: throttling, outages, dropped connections, slow statements, and a consumer killed mid-batch.
/// </summary>
public sealed class SnowflakeIngestionTests : PipelineTest
{
    private ServiceProcess StartSimulator(long count, double rate) =>
        StartSimulator(count, rate, ("Simulator__Seed", "53"), ("Simulator__Customers", "2000"), ("Simulator__InvalidRate", "0"));

    private static async Task<(long Rows, long Distinct)> CountOrdersAsync(SnowflakeSqlApiDouble snowflake)
    {
        var row = (await snowflake.QueryAsync("SELECT COUNT(*), COUNT(DISTINCT ORDER_ID) FROM FACT_ORDERS"))[0];
        return (Convert.ToInt64(row[0], CultureInfo.InvariantCulture), Convert.ToInt64(row[1], CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The customer dimension is whole: one current version per customer, versions that neither overlap nor leave
    /// gaps, and every order pointing at the version valid at its timestamp.
    /// </summary>
    private static async Task AssertCustomerHistoryIsConsistentAsync(SnowflakeSqlApiDouble snowflake)
    {
        var current = await snowflake.QueryAsync(
            "SELECT CUSTOMER_ID, COUNT(*) FROM DIM_CUSTOMER WHERE IS_CURRENT GROUP BY CUSTOMER_ID HAVING COUNT(*) <> 1");
        Assert.Empty(current);
        var overlaps = await snowflake.QueryAsync(
            "SELECT a.CUSTOMER_ID FROM DIM_CUSTOMER a JOIN DIM_CUSTOMER b ON a.CUSTOMER_ID = b.CUSTOMER_ID AND a.CUSTOMER_SK <> b.CUSTOMER_SK " +
            "AND a.VALID_FROM < COALESCE(b.VALID_TO, TIMESTAMP '9999-12-31') AND b.VALID_FROM < COALESCE(a.VALID_TO, TIMESTAMP '9999-12-31')");
        Assert.Empty(overlaps);
        var misplaced = await snowflake.QueryAsync(
            "SELECT f.ORDER_ID FROM FACT_ORDERS f JOIN DIM_CUSTOMER c ON c.CUSTOMER_SK = f.CUSTOMER_SK " +
            "WHERE f.ORDER_TIMESTAMP < c.VALID_FROM OR (c.VALID_TO IS NOT NULL AND f.ORDER_TIMESTAMP >= c.VALID_TO) OR c.CUSTOMER_ID <> f.CUSTOMER_ID");
        Assert.Empty(misplaced);
        var orphans = await snowflake.QueryAsync("SELECT COUNT(*) FROM FACT_ORDERS f LEFT JOIN DIM_CUSTOMER c ON c.CUSTOMER_SK = f.CUSTOMER_SK WHERE c.CUSTOMER_SK IS NULL");
        Assert.Equal(0L, Convert.ToInt64(orphans[0][0], CultureInfo.InvariantCulture));
    }

    private static async Task FinishSimulatorAsync(ServiceProcess simulator, int count)
    {
        using var timeout = new CancellationTokenSource(Patience);
        await simulator.WaitForExitAsync(timeout.Token);
        Assert.Contains($"Simulator finished: {count} sent, {count} delivered, 0 failed", simulator.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Throttling_errors_a_slow_statement_and_dropped_connections_lose_nothing_and_duplicate_nothing()
    {
        const int count = 8_000;
        await using var snowflake = await SnowflakeSqlApiDouble.StartAsync();
        await using var consumer = StartConsumerOnSnowflake(snowflake, ("Ingestion__MaxBatchSize", "500"));
        await consumer.WaitUntilHealthyAsync(Patience);

        // Met in this order while the orders stream in: a burst of 429s (one with Retry-After), 503s and a 504, a
        // connection dropped after a batch committed, one dropped before a staging insert ran, a batch that answers
        // 202 and is polled, and another burst.
        foreach (var code in new[] { 429, 429, 503, 503, 504 })
        {
            snowflake.Inject(new SnowflakeFault.Status(code, code == 429 ? TimeSpan.FromSeconds(1) : null));
        }

        snowflake.Inject(new SnowflakeFault.DropAfterRunning(), r => r.IsBatchTransaction);
        snowflake.Inject(new SnowflakeFault.DropBeforeRunning(), r => r.Detail.StartsWith("INSERT INTO ECOMMERCE_STAGE_", StringComparison.Ordinal));
        snowflake.Inject(new SnowflakeFault.RunAsynchronously(Polls: 3), r => r.IsBatchTransaction);
        snowflake.Inject(new SnowflakeFault.DropAfterRunning(), r => r.IsBatchTransaction);
        foreach (var code in new[] { 503, 429, 503 })
        {
            snowflake.Inject(new SnowflakeFault.Status(code));
        }

        await using var simulator = StartSimulator(count, rate: 2_000);
        await FinishSimulatorAsync(simulator, count);
        var status = await consumer.WaitForStatusAsync("/api/ingestion/status",
            s => s.GetProperty("ingested").GetInt64() >= count, Patience, "every order ingested");

        Assert.Equal(count, status.GetProperty("ingested").GetInt64());
        Assert.Equal(0, snowflake.PendingFaults);
        Assert.Equal((count, count), await CountOrdersAsync(snowflake));
        await AssertCustomerHistoryIsConsistentAsync(snowflake);
        Assert.Empty(snowflake.Violations);
        Assert.Contains("retrying", consumer.Output, StringComparison.Ordinal);

        // The analytics API answers from Snowflake too, and agrees with the table.
        var products = await consumer.GetJsonAsync("/api/analytics/product-quantities");
        var units = Convert.ToInt64((await snowflake.QueryAsync("SELECT CAST(SUM(QUANTITY) AS BIGINT) FROM FACT_ORDERS"))[0][0], CultureInfo.InvariantCulture);
        Assert.Equal(units, products.EnumerateArray().Sum(p => p.GetProperty("quantitySold").GetInt64()));
        using (var refused = await consumer.Http.GetAsync(new Uri("/api/analytics/multi-region-customers?limit=0", UriKind.Relative)))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("limit must be from 1 to 10000", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The summary of the last 24 hours (the default window) holds every order just sent.
        var summary = await consumer.GetJsonAsync("/api/analytics/summary");
        Assert.Equal(count, summary.GetProperty("current").GetProperty("orders").GetInt64());
        Assert.Equal(units, summary.GetProperty("current").GetProperty("units").GetInt64());
        using (var reversed = await consumer.Http.GetAsync(new Uri("/api/analytics/summary?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", UriKind.Relative)))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, reversed.StatusCode);
            Assert.Contains("from must be before to", await reversed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Monthly sales over the API: all of them by default, none of a range before any order, a 400 for a reversed range.
        var monthly = await consumer.GetJsonAsync("/api/analytics/monthly-sales");
        Assert.Equal(count, monthly.EnumerateArray().Sum(m => m.GetProperty("orders").GetInt64()));
        Assert.Empty((await consumer.GetJsonAsync("/api/analytics/monthly-sales?from=2001-01-01&to=2001-02-01")).EnumerateArray());
        using (var reversed = await consumer.Http.GetAsync(new Uri("/api/analytics/monthly-sales?from=2026-02-01&to=2026-01-01", UriKind.Relative)))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, reversed.StatusCode);
        }

        await consumer.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_snowflake_outage_makes_ingestion_degraded_and_it_catches_up_afterwards()
    {
        const int count = 10_000;
        await using var snowflake = await SnowflakeSqlApiDouble.StartAsync();
        // Outside Production, so that the status gives the error's own text (Production gives its code and a summary).
        await using var consumer = StartConsumerOnSnowflake(snowflake, ("Ingestion__MaxBatchSize", "1000"), ("Snowflake__RetryFor", "00:00:02"),
            ("DOTNET_ENVIRONMENT", "Development"), ("ASPNETCORE_ENVIRONMENT", "Development"));
        await consumer.WaitUntilHealthyAsync(Patience);
        await using var simulator = StartSimulator(count, rate: 1_000);
        await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("ingested").GetInt64() > 0, Patience, "first orders ingested");

        snowflake.Unavailable = true;
        var degraded = await consumer.WaitForStatusAsync("/api/ingestion/status",
            s => s.GetProperty("state").GetString() == "degraded", Patience, "ingestion to report the outage");
        Assert.Contains("503", degraded.GetProperty("reason").GetString(), StringComparison.Ordinal);
        using (var health = await consumer.Http.GetAsync(new Uri("/health", UriKind.Relative)))
        {
            var report = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("Degraded", report.GetProperty("checks").GetProperty("ingestion").GetProperty("status").GetString());
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
        snowflake.Unavailable = false;

        await FinishSimulatorAsync(simulator, count);
        var status = await consumer.WaitForStatusAsync("/api/ingestion/status",
            s => s.GetProperty("ingested").GetInt64() >= count && s.GetProperty("state").GetString() == "running", Patience, "catching up");
        Assert.Equal(count, status.GetProperty("ingested").GetInt64());
        Assert.Equal((count, count), await CountOrdersAsync(snowflake));
        Assert.Empty(snowflake.Violations);
        await consumer.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_second_process_given_a_static_id_already_in_use_gets_no_partitions_and_writes_nothing()
    {
        // An operator's mistake: two live processes with the same Ingestion:InstanceId. Kafka refuses the second
        // (UNRELEASED_INSTANCE_ID, which stops its consumer); the embedded broker keeps refusing its joins instead. Either
        // way the first keeps every partition and nothing is written twice.
        const int count = 3_000;
        await using var snowflake = await SnowflakeSqlApiDouble.StartAsync();
        await using var first = StartConsumerOnSnowflake(snowflake, ("Ingestion__InstanceId", "host-a"), ("Snowflake__QueryTag", "consumer-1"));
        await first.WaitForStatusAsync("/api/ingestion/status", OwnsEveryPartition, Patience, "every partition held by the first process");
        await using var second = StartConsumerOnSnowflake(snowflake, ("Ingestion__InstanceId", "host-a"), ("Snowflake__QueryTag", "consumer-2"));
        await second.WaitUntilHealthyAsync(Patience);

        await using var simulator = StartSimulator(count, rate: 1_000);
        await FinishSimulatorAsync(simulator, count);
        await first.WaitForStatusAsync("/api/ingestion/status", CaughtUp, Patience, "the first process to have read everything");
        var secondStatus = await second.GetJsonAsync("/api/ingestion/status");
        Assert.Equal(0, secondStatus.GetProperty("partitions").GetArrayLength());
        Assert.Equal(0, secondStatus.GetProperty("batches").GetInt64());
        Assert.DoesNotContain(snowflake.Requests, r => r.QueryTag == "consumer-2" && r.IsBatchTransaction);
        Assert.Equal((count, count), await CountOrdersAsync(snowflake));
        await second.StopAsync(TimeSpan.FromSeconds(30));
        await first.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task When_one_of_two_consumers_is_killed_mid_batch_the_other_takes_over_and_every_order_lands_once()
    {
        const int count = 16_000;
        await using var snowflake = await SnowflakeSqlApiDouble.StartAsync();
        await using var first = StartConsumerOnSnowflake(snowflake, ("Ingestion__MaxBatchSize", "500"), ("Snowflake__QueryTag", "consumer-1"));
        await using var second = StartConsumerOnSnowflake(snowflake, ("Ingestion__MaxBatchSize", "500"), ("Snowflake__QueryTag", "consumer-2"));
        await Task.WhenAll(first.WaitUntilHealthyAsync(Patience), second.WaitUntilHealthyAsync(Patience));
        await Task.WhenAll(
            first.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("partitions").GetArrayLength() > 0, Patience, "the first consumer to own partitions"),
            second.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("partitions").GetArrayLength() > 0, Patience, "the second consumer to own partitions"));

        // The first consumer's first batch transaction is held by "Snowflake" for longer than the group's session
        // timeout; the consumer is killed while it waits for the answer. The held transaction then still commits,
        // after the second consumer has taken the partitions over and may have written the same orders. (Set before
        // any order flows, so that the first consumer cannot have written its last batch before the hold is armed.)
        snowflake.Inject(new SnowflakeFault.Hold(TimeSpan.FromSeconds(20)), r => r.IsBatchTransaction && r.QueryTag == "consumer-1");
        await using var simulator = StartSimulator(count, rate: 2_000);
        using (var timeout = new CancellationTokenSource(Patience))
        {
            await snowflake.FirstHold.WaitAsync(timeout.Token);
        }

        first.Kill();

        await FinishSimulatorAsync(simulator, count);
        await second.WaitForStatusAsync("/api/ingestion/status", CaughtUp, Patience, "the second consumer to own every partition with no lag left");
        using (var timeout = new CancellationTokenSource(Patience))
        {
            await snowflake.FirstHoldRan.WaitAsync(timeout.Token); // The dead consumer's transaction has committed.
        }

        Assert.Equal(0, snowflake.PendingFaults);
        Assert.Equal((count, count), await CountOrdersAsync(snowflake));
        await AssertCustomerHistoryIsConsistentAsync(snowflake);
        Assert.Empty(snowflake.Violations);

        // Whichever came first, the late transaction or the survivor's rewrite of the same events, the other one was
        // recognised as stale: the dead consumer's transaction refused, or the survivor writing only the rest.
        var refused = snowflake.Failures.Any(f => f.QueryTag == "consumer-1" && f.Message.Contains("ECOMMERCE_STALE_BATCH", StringComparison.Ordinal));
        var trimmed = second.Output.Contains("stored by another writer", StringComparison.Ordinal);
        Assert.True(refused || trimmed, "the held transaction and the takeover never met: the test did not exercise the race");
        await second.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task When_the_modelling_process_is_killed_mid_cycle_the_other_takes_over_and_every_order_lands_once()
    {
        const int count = 12_000;
        (string, string?)[] landed = [("Ingestion__WritePath", "Landed"), ("Ingestion__ModelLeaseDuration", "00:00:05"), ("Ingestion__MaxBatchSize", "500")];
        await using var snowflake = await SnowflakeSqlApiDouble.StartAsync();
        await using var first = StartConsumerOnSnowflake(snowflake, [.. landed, ("Snowflake__QueryTag", "consumer-1")]);
        await first.WaitUntilHealthyAsync(Patience);

        // The first process is alone, so it holds the modelling lease; its first modelling transaction is held by
        // "Snowflake" past the lease and the group's session, and the process is killed while it waits. The held
        // transaction still commits later, after the second process has taken over the partitions and the lease and may
        // have modelled the same landed rows.
        snowflake.Inject(new SnowflakeFault.Hold(TimeSpan.FromSeconds(20)), r => r.IsBatchTransaction && r.QueryTag == "consumer-1");
        await using var simulator = StartSimulator(count, rate: 2_000);
        using (var timeout = new CancellationTokenSource(Patience))
        {
            await snowflake.FirstHold.WaitAsync(timeout.Token);
        }

        await using var second = StartConsumerOnSnowflake(snowflake, [.. landed, ("Snowflake__QueryTag", "consumer-2")]);
        await second.WaitUntilHealthyAsync(Patience);
        first.Kill();

        await FinishSimulatorAsync(simulator, count);
        await second.WaitForStatusAsync("/api/ingestion/status", CaughtUp, Patience, "the second consumer to own every partition with no lag left");
        using (var timeout = new CancellationTokenSource(Patience))
        {
            await snowflake.FirstHoldRan.WaitAsync(timeout.Token); // The dead process's modelling transaction has run.
        }

        // Modelling goes on after the last landing: wait for it, checking on the way that no order is ever stored twice.
        var deadline = DateTime.UtcNow + Patience;
        for (var stored = await CountOrdersAsync(snowflake); stored != (count, count); stored = await CountOrdersAsync(snowflake))
        {
            Assert.True(stored.Rows == stored.Distinct, $"an order was stored twice: {stored}");
            Assert.True(DateTime.UtcNow < deadline, $"{stored.Distinct} of {count} orders stored in time:\n{second.Output}");
            await Task.Delay(500);
        }

        await AssertCustomerHistoryIsConsistentAsync(snowflake);
        Assert.Empty(snowflake.Violations);
        var twice = await snowflake.QueryAsync(
            "SELECT COUNT(*) FROM (SELECT 1 FROM LANDED_OUTCOMES GROUP BY LANDING_ID, SOURCE_PARTITION, SOURCE_OFFSET HAVING COUNT(*) > 1) AS t");
        Assert.Equal(0L, Convert.ToInt64(twice[0][0], CultureInfo.InvariantCulture));

        // The held cycle and the survivor's cycle over the same landed rows met: one of them was refused.
        var refused = snowflake.Failures.Any(f => f.Message.Contains("ECOMMERCE_STALE_", StringComparison.Ordinal))
            || second.Output.Contains("modelling cycle was refused", StringComparison.Ordinal);
        Assert.True(refused, "the held modelling transaction and the takeover never met: the test did not exercise the race");
        await second.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData("Direct")]
    [InlineData("Landed")]
    public async Task Two_consumers_of_orders_not_keyed_by_customer_build_exactly_the_history_the_reference_model_computes(string writePath)
    {
        // As the issue found it: 3,600 orders of 300 customers whose regions change, keyed by order id (so a customer's
        // orders are spread over every partition and both consumers), arriving in random time order.
        var log = OrderLog.Generate(seed: 1212, events: 3_600, customers: 300, partitions: EmbeddedKafka.Partitions, keying: StreamKeying.OrderId, lateness: 1.0);
        await using var snowflake = await SnowflakeSqlApiDouble.StartAsync();
        await using var first = StartConsumerOnSnowflake(snowflake,
            ("Ingestion__MaxBatchSize", "150"), ("Snowflake__QueryTag", "consumer-1"), ("Ingestion__WritePath", writePath), ("Ingestion__MaxModelledPerCycle", "400"));
        await using var second = StartConsumerOnSnowflake(snowflake,
            ("Ingestion__MaxBatchSize", "150"), ("Snowflake__QueryTag", "consumer-2"), ("Ingestion__WritePath", writePath), ("Ingestion__MaxModelledPerCycle", "400"));
        await Task.WhenAll(first.WaitUntilHealthyAsync(Patience), second.WaitUntilHealthyAsync(Patience));
        await Task.WhenAll(
            first.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("partitions").GetArrayLength() > 0, Patience, "the first consumer to own partitions"),
            second.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("partitions").GetArrayLength() > 0, Patience, "the second consumer to own partitions"));

        using (var producer = Kafka.CreateProducer())
        {
            var deliveries = log.Partitions.SelectMany((records, partition) => records.Select(record => producer.ProduceAsync(
                new TopicPartition("orders", partition), new Message<byte[]?, byte[]?> { Key = record.Key, Value = record.Value }))).ToList();
            await Task.WhenAll(deliveries);
        }

        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            // Every event stored (direct) or landed, and (landed) nothing left to model.
            var stored = (await snowflake.QueryAsync(
                    "SELECT PARTITION_ID, MAX(NEXT_OFFSET) FROM (SELECT PARTITION_ID, NEXT_OFFSET FROM INGESTION_OFFSETS WHERE TOPIC = 'orders' " +
                    "UNION ALL SELECT PARTITION_ID, NEXT_OFFSET FROM LANDED_PROGRESS WHERE TOPIC = 'orders') AS p GROUP BY PARTITION_ID"))
                .ToDictionary(r => Convert.ToInt32(r[0], CultureInfo.InvariantCulture), r => Convert.ToInt64(r[1], CultureInfo.InvariantCulture));
            var waiting = Convert.ToInt64((await snowflake.QueryAsync(
                "SELECT COUNT(*) FROM LANDED_ORDERS AS l WHERE NOT EXISTS (SELECT 1 FROM LANDED_OUTCOMES AS o " +
                "WHERE o.LANDING_ID = l.LANDING_ID AND o.SOURCE_PARTITION = l.SOURCE_PARTITION AND o.SOURCE_OFFSET = l.SOURCE_OFFSET)"))[0][0], CultureInfo.InvariantCulture);
            if (Enumerable.Range(0, log.Partitions.Count).All(p => stored.GetValueOrDefault(p) >= log.Partitions[p].Count) && waiting == 0)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"not every order was ingested in time:\n{first.Output}\n{second.Output}");
            await Task.Delay(500);
        }

        var model = new ReferenceModel(log);
        var differences = await WarehouseComparison.CompareTablesAsync(model, snowflake.QueryAsync, "orders");
        differences.AddRange(WarehouseComparison.CompareDeadLetters(model, Kafka.BootstrapServers, "orders.dlq", "orders"));
        Assert.True(differences.Count == 0, string.Join(Environment.NewLine, differences));
        await AssertCustomerHistoryIsConsistentAsync(snowflake);
        Assert.Empty(snowflake.Violations);
        if (writePath == "Landed")
        {
            // Both processes landed orders (the partitions are shared between them).
            await first.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("landed").GetInt64() > 0, TimeSpan.FromSeconds(10), "the first consumer to have landed orders");
            await second.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("landed").GetInt64() > 0, TimeSpan.FromSeconds(10), "the second consumer to have landed orders");
        }

        await Task.WhenAll(first.StopAsync(TimeSpan.FromSeconds(30)), second.StopAsync(TimeSpan.FromSeconds(30)));
    }
}
