using System.Text;
using System.Text.Json;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Producer.Simulation;
using Ecommerce.Testing;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Ingestion;

/// <summary>
/// The ingestion service as a real process against the embedded Kafka broker and a real DuckDB file: every valid
/// event exactly once, every invalid one on the dead-letter topic with its reason, across redeliveries, restarts,
/// crashes, several consumers and a replaced cluster.
/// </summary>
public sealed class IngestionServiceTests : PipelineTest
{
    /// <param name="logGroupTraffic">
    /// Logs librdkafka's group and connection events (its <c>cgrp</c> and <c>broker</c> debug contexts), which a failed
    /// wait prints with the rest of the service's output.
    /// </param>
    private ServiceProcess StartConsumer(EmbeddedKafka? kafka = null, int consumers = 1, int maxBatchSize = 500, string? groupProtocol = null,
        string? instanceId = null, bool logGroupTraffic = false) =>
        StartConsumer(kafka, settings: [
            ("Ingestion__Consumers", consumers.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Ingestion__MaxBatchSize", maxBatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Aspire__Confluent__Kafka__Consumer__Config__GroupProtocol", groupProtocol),
            ("Ingestion__InstanceId", instanceId),
            ("Aspire__Confluent__Kafka__Consumer__Config__Debug", logGroupTraffic ? "cgrp,broker" : null),
            ("Logging__LogLevel__Confluent.Kafka", logGroupTraffic ? "Debug" : null)]);

    private static List<SimulatedEvent> Simulate(int count, int seed, double invalidRate = 0)
    {
        var generator = new OrderGenerator(new SimulatorOptions { Seed = seed, Customers = 500, InvalidRate = invalidRate, LateRate = 0.05 }, TimeProvider.System);
        return Enumerable.Range(0, count).Select(_ => generator.Next()).ToList();
    }

    private Task ProduceAsync(IEnumerable<SimulatedEvent> events, EmbeddedKafka? kafka = null) =>
        (kafka ?? Kafka).ProduceAsync("orders", events.Select(e => ((string?)e.Key, (byte[]?)e.Payload)));

    private static Task<JsonElement> WaitForIngestedAsync(ServiceProcess consumer, long ingested, long? duplicates = null) =>
        consumer.WaitForStatusAsync("/api/ingestion/status",
            s => s.GetProperty("ingested").GetInt64() >= ingested && (duplicates is null || s.GetProperty("duplicates").GetInt64() >= duplicates),
            Patience, $"{ingested} orders ingested");

    /// <summary>The order ids in FACT_ORDERS with how often each appears (read after the consumer stopped).</summary>
    private async Task<Dictionary<string, long>> StoredOrdersAsync()
    {
        await using var warehouse = new DuckDbWarehouseProvider($"Data Source={WarehousePath}");
        var rows = await warehouse.QueryAsync(new SqlStatement("SELECT ORDER_ID, COUNT(*) FROM FACT_ORDERS GROUP BY ORDER_ID"), CancellationToken.None);
        return rows.ToDictionary(r => (string)r[0]!, r => Convert.ToInt64(r[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void AssertExactlyOnce(IEnumerable<SimulatedEvent> produced, Dictionary<string, long> stored)
    {
        var expected = produced.Where(e => e.Kind == EventKind.Valid).Select(e => e.Order.OrderId).ToHashSet();
        Assert.All(stored, pair => Assert.Equal(1, pair.Value));
        Assert.Equal(expected.Order(), stored.Keys.Order());
    }

    [Fact]
    public async Task The_stored_ids_kept_beside_the_file_serve_the_next_start_after_a_clean_stop_and_after_a_crash()
    {
        // The filter of stored ids is saved beside the file every 1,500 stored orders (here) and at a clean stop, so a
        // start reads it instead of every stored id. After a crash it must add the ids stored since its last save, or
        // the killed run's orders, redelivered, would be stored twice.
        var events = Simulate(6_000, seed: 8);
        var filter = new FileInfo(WarehousePath + ".order-ids");
        (string, string?)[] settings = [("Warehouse__SaveStoredIdsEvery", "1500"), ("Ingestion__MaxBatchSize", "500")];
        await using (var first = StartConsumer(settings: settings))
        {
            await ProduceAsync(events.Take(2_000));
            await WaitForIngestedAsync(first, 2_000);
            await first.StopAsync(TimeSpan.FromSeconds(30));
        }

        Assert.True(filter.Exists, "a clean stop should keep the stored ids beside the warehouse file");
        Assert.Equal(1L, await CountAsync("SELECT COUNT(*) FROM ORDER_ID_FILTER"));

        await using (var second = StartConsumer(settings: settings))
        {
            await ProduceAsync(events.Skip(2_000).Take(2_000));
            await WaitForIngestedAsync(second, 2_000);
            await second.WaitForOutputAsync("Stored order ids saved beside the warehouse file", Patience); // After 1,500 orders.
            second.Kill();
            Assert.Equal(0, IdsReadAfterSavedCopy(second.Output)); // The clean stop saved them all.
        }

        // The killed run's orders again (as after a producer retry), then new ones. Its save after 1,500 orders left
        // at least its last batch (at most 500 orders) to be read from the fact table.
        await ProduceAsync(events.Skip(2_000));
        await using (var third = StartConsumer(settings: settings))
        {
            await third.WaitForStatusAsync("/api/ingestion/status", CaughtUp, Patience, "no lag on any partition");
            await third.StopAsync(TimeSpan.FromSeconds(30));
            Assert.InRange(IdsReadAfterSavedCopy(third.Output), 1, 500);
        }

        AssertExactlyOnce(events, await StoredOrdersAsync());
    }

    /// <summary>How many ids a consumer read from the fact table after the copy kept beside the file, as it logged.</summary>
    private static long IdsReadAfterSavedCopy(string output)
    {
        var match = System.Text.RegularExpressions.Regex.Match(output, @"loaded from the copy kept beside the warehouse file and (\d+) ids stored after it");
        Assert.True(match.Success, "the consumer should have loaded the stored ids from the copy kept beside the file:\n" + output[^Math.Min(output.Length, 3_000)..]);
        return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var warehouse = new DuckDbWarehouseProvider($"Data Source={WarehousePath}");
        var rows = await warehouse.QueryAsync(new SqlStatement(sql), CancellationToken.None);
        return Convert.ToInt64(rows[0][0], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task After_a_crash_the_next_start_folds_the_write_ahead_log_into_the_warehouse_file()
    {
        // A killed service cannot fold its log into the file (a stack stopped by force, a power cut); DuckDB replays
        // the log on the next start, and the service then writes it into the file, so that logs do not pile up.
        var events = Simulate(2_000, seed: 4, invalidRate: 0);
        await ProduceAsync(events);
        await using (var crashed = StartConsumer())
        {
            await crashed.WaitUntilHealthyAsync(Patience);
            await WaitForIngestedAsync(crashed, events.Count);
            crashed.Kill();
        }

        var log = new FileInfo(WarehousePath + ".wal");
        Assert.True(log.Exists && log.Length > 0, "the killed service should have left a write-ahead log");

        await using (var restarted = StartConsumer())
        {
            await restarted.WaitUntilHealthyAsync(Patience);
            log.Refresh();
            Assert.True(!log.Exists || log.Length == 0, $"the write-ahead log still holds {(log.Exists ? log.Length : 0)} bytes after the restart");
            await restarted.StopAsync(TimeSpan.FromSeconds(30));
        }

        AssertExactlyOnce(events, await StoredOrdersAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_stopped_service_leaves_everything_in_the_warehouse_file_and_no_write_ahead_log(bool brokerGoneFirst)
    {
        // A user copies, backs up or opens the file after stopping the stack: the file alone must hold the data. Also
        // when the broker stopped first, as the embedded one in the AppHost does on Ctrl-C.
        var events = Simulate(2_000, seed: 3, invalidRate: 0);
        await ProduceAsync(events);
        await using (var consumer = StartConsumer())
        {
            await consumer.WaitUntilHealthyAsync(Patience);
            await WaitForIngestedAsync(consumer, events.Count);
            await consumer.GetJsonAsync("/api/analytics/product-quantities"); // A reader connection open beside the writer.
            if (brokerGoneFirst)
            {
                await Kafka.Broker.DisposeAsync();
            }

            await consumer.StopAsync(TimeSpan.FromSeconds(30));
        }

        var log = new FileInfo(WarehousePath + ".wal");
        Assert.True(!log.Exists || log.Length == 0, $"the write-ahead log holds {(log.Exists ? log.Length : 0)} bytes after the stop");
        AssertExactlyOnce(events, await StoredOrdersAsync());
    }

    [Fact]
    public async Task A_service_whose_broker_went_away_mid_stream_writes_what_it_had_fetched_and_still_stops_in_time()
    {
        // Kafka unreachable must hold up neither the writing of what was already fetched nor the stop: the group's
        // offsets are for tools, the warehouse holds the positions. (A synchronous commit waited 45 s for the group
        // coordinator after every batch, so a SIGTERM was not answered within a service manager's window.)
        var events = Simulate(40_000, seed: 5);
        await ProduceAsync(events);
        long stored;
        await using (var consumer = StartConsumer(maxBatchSize: 200))
        {
            await consumer.WaitUntilHealthyAsync(Patience);
            await WaitForIngestedAsync(consumer, 200);
            await Kafka.Broker.DisposeAsync();
            var atBrokerGone = (await consumer.GetJsonAsync("/api/ingestion/status")).GetProperty("ingested").GetInt64();
            Assert.True(atBrokerGone + 200 <= events.Count, $"{atBrokerGone} of {events.Count} written before the broker went away; the test needs a stream in progress");

            // A batch written (and its offsets handed to the Kafka client, which cannot commit them) after the broker went away.
            await WaitForIngestedAsync(consumer, atBrokerGone + 200);
            await consumer.StopAsync(TimeSpan.FromSeconds(30));
            stored = IngestedAtStop(consumer.Output);
        }

        var orders = await StoredOrdersAsync();
        Assert.All(orders, pair => Assert.Equal(1, pair.Value));
        Assert.Subset(events.Select(e => e.Order.OrderId).ToHashSet(), orders.Keys.ToHashSet());
        Assert.Equal(stored, orders.Count);
        var log = new FileInfo(WarehousePath + ".wal");
        Assert.True(!log.Exists || log.Length == 0, $"the write-ahead log holds {(log.Exists ? log.Length : 0)} bytes after the stop");
    }

    private static long IngestedAtStop(string output)
    {
        var match = System.Text.RegularExpressions.Regex.Match(output, @"Ingestion stopped after (\d+) orders");
        Assert.True(match.Success, "the service should have said how many orders it ingested:\n" + output[^Math.Min(output.Length, 3_000)..]);
        return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Valid_events_land_once_and_invalid_ones_reach_the_dead_letter_topic_with_their_reason()
    {
        var events = Simulate(3_000, seed: 1, invalidRate: 0.05);
        await ProduceAsync(events);
        // A tombstone and an empty message, which must not stop the consumer either.
        await Kafka.ProduceAsync("orders", [("C1", null), ("C2", [])]);
        var valid = events.Count(e => e.Kind == EventKind.Valid);
        var invalid = events.Count - valid + 2;

        await using (var consumer = StartConsumer())
        {
            await consumer.WaitUntilHealthyAsync(Patience);
            // Counts move when the warehouse commits; the offsets right after, when Kafka is told.
            var status = await consumer.WaitForStatusAsync("/api/ingestion/status",
                s => s.GetProperty("ingested").GetInt64() + s.GetProperty("deadLettered").GetInt64() >= events.Count + 2 && CaughtUp(s),
                Patience, "every event handled and committed");
            Assert.Equal(valid, status.GetProperty("ingested").GetInt64());
            Assert.Equal(invalid, status.GetProperty("deadLettered").GetInt64());
            // Where the CPU went, stage by stage (CpuByStage, on Linux only): every stage these events passed through took some.
            if (OperatingSystem.IsLinux())
            {
                var stages = status.GetProperty("cpuSecondsByStage").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
                Assert.Equal(["classify", "commit", "history", "parseAndValidate", "read", "write"], stages.Keys.Order(StringComparer.Ordinal));
                Assert.All(stages, stage => Assert.True(stage.Value > 0, $"no CPU counted for {stage.Key}"));
            }

            await consumer.StopAsync(TimeSpan.FromSeconds(30));
        }

        AssertExactlyOnce(events, await StoredOrdersAsync());

        var deadLetters = Kafka.ReadAll("orders.dlq", invalid, Patience);
        Assert.Equal(invalid, deadLetters.Count);
        var expectedPayloads = events.Where(e => e.Kind != EventKind.Valid).Select(e => Convert.ToBase64String(e.Payload)).Order().ToArray();
        var actualPayloads = deadLetters.Where(d => d.Message.Value is { Length: > 0 }).Select(d => Convert.ToBase64String(d.Message.Value!)).Order().ToArray();
        Assert.Equal(expectedPayloads, actualPayloads);
        foreach (var deadLetter in deadLetters)
        {
            var headers = deadLetter.Message.Headers.ToDictionary(h => h.Key, h => Encoding.UTF8.GetString(h.GetValueBytes()));
            Assert.False(string.IsNullOrWhiteSpace(headers[DeadLetterPublisher.ReasonHeader]));
            Assert.Equal("orders", headers[DeadLetterPublisher.SourceTopicHeader]);
            Assert.True(int.Parse(headers[DeadLetterPublisher.SourcePartitionHeader], System.Globalization.CultureInfo.InvariantCulture) >= 0);
            Assert.True(long.Parse(headers[DeadLetterPublisher.SourceOffsetHeader], System.Globalization.CultureInfo.InvariantCulture) >= 0);
        }

        var codes = deadLetters.Select(d => Encoding.UTF8.GetString(d.Message.Headers.GetLastBytes(DeadLetterPublisher.CodeHeader))).ToHashSet();
        Assert.Superset(new HashSet<string> { Rejection.EmptyCode, Rejection.MalformedCode, Rejection.MissingFieldCode, Rejection.OutOfRangeCode, Rejection.WrongTypeCode }, codes);
    }

    [Fact]
    public async Task Redelivered_events_are_counted_as_duplicates_and_not_stored_again()
    {
        var events = Simulate(2_000, seed: 2);
        await ProduceAsync(events);

        await using var consumer = StartConsumer();
        await consumer.WaitUntilHealthyAsync(Patience);
        await WaitForIngestedAsync(consumer, events.Count);

        await ProduceAsync(events); // The same events once more, as a producer retry or a replayed topic would.
        var status = await WaitForIngestedAsync(consumer, events.Count, duplicates: events.Count);
        Assert.Equal(events.Count, status.GetProperty("ingested").GetInt64());
        Assert.Equal(events.Count, status.GetProperty("duplicates").GetInt64());
        await consumer.StopAsync(TimeSpan.FromSeconds(30));

        AssertExactlyOnce(events, await StoredOrdersAsync());
    }

    [Fact]
    public async Task An_order_id_reused_with_other_content_keeps_the_first_and_dead_letters_the_newcomer_as_a_conflict()
    {
        var original = """{"order_id":"dup-1","order_timestamp":"2026-11-01T10:00:00Z","customer_id":"C1","customer_name":"Ada","customer_region":"North","product_id":"P1","product_name":"Book","category":"Books","price":10.00,"quantity":1}""";
        var reused = original.Replace("\"quantity\":1", "\"quantity\":9", StringComparison.Ordinal);
        await Kafka.ProduceAsync("orders", [("C1", Encoding.UTF8.GetBytes(original))]);

        await using var consumer = StartConsumer();
        await consumer.WaitUntilHealthyAsync(Patience);
        await WaitForIngestedAsync(consumer, 1);
        // The reused id alone, then next to a redelivery of the original (a duplicate, not a conflict).
        await Kafka.ProduceAsync("orders", [("C1", Encoding.UTF8.GetBytes(reused))]);
        await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("conflicts").GetInt64() == 1, Patience, "one conflict");
        await Kafka.ProduceAsync("orders", [("C1", Encoding.UTF8.GetBytes(original)), ("C1", Encoding.UTF8.GetBytes(reused))]);
        var status = await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("conflicts").GetInt64() == 2, Patience, "two conflicts");
        Assert.Equal(1, status.GetProperty("ingested").GetInt64());
        Assert.Equal(1, status.GetProperty("duplicates").GetInt64());
        await consumer.StopAsync(TimeSpan.FromSeconds(30));

        var deadLetters = Kafka.ReadAll("orders.dlq", 2, Patience);
        Assert.Equal(2, deadLetters.Count);
        Assert.All(deadLetters, d =>
        {
            Assert.Equal(reused, Encoding.UTF8.GetString(d.Message.Value!));
            Assert.Equal(Rejection.ConflictCode, Encoding.UTF8.GetString(d.Message.Headers.GetLastBytes(DeadLetterPublisher.CodeHeader)));
        });
        await using var warehouse = new DuckDbWarehouseProvider($"Data Source={WarehousePath}");
        var quantity = await warehouse.QueryAsync(new SqlStatement("SELECT QUANTITY FROM FACT_ORDERS WHERE ORDER_ID = 'dup-1'"), CancellationToken.None);
        Assert.Equal(1L, quantity.Single()[0]);
    }

    [Theory]
    [InlineData("Consumer")] // KIP-848, the default
    [InlineData("Classic")] // For brokers older than Kafka 4.0
    public async Task A_consumer_stopped_or_killed_mid_stream_and_restarted_ingests_everything_exactly_once(string groupProtocol)
    {
        var events = Simulate(12_000, seed: 3);
        await ProduceAsync(events.Take(4_000));

        // A graceful stop while events keep arriving...
        await using (var first = StartConsumer(maxBatchSize: 200, groupProtocol: groupProtocol))
        {
            await first.WaitUntilHealthyAsync(Patience);
            var producing = ProduceAsync(events.Skip(4_000).Take(4_000));
            await first.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("ingested").GetInt64() >= 1_000, Patience, "some progress");
            await first.StopAsync(TimeSpan.FromSeconds(30));
            await producing;
        }

        // ...then a crash in the middle of the rest.
        await using (var second = StartConsumer(maxBatchSize: 200, groupProtocol: groupProtocol))
        {
            await second.WaitUntilHealthyAsync(Patience);
            var producing = ProduceAsync(events.Skip(8_000));
            await second.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("ingested").GetInt64() >= 1_000, Patience, "some progress");
            second.Kill();
            await producing;
        }

        // Logged in full: once (a CI run of 2026-12-05) this consumer was given no partitions for two minutes, its heartbeats
        // to the embedded broker timing out; its group traffic tells a stalled connection from a coordinator that does
        // not answer, should it happen again.
        await using (var third = StartConsumer(maxBatchSize: 200, groupProtocol: groupProtocol, logGroupTraffic: true))
        {
            await third.WaitUntilHealthyAsync(Patience);
            await third.WaitForStatusAsync("/api/ingestion/status", CaughtUp, Patience, "no lag on any partition");
            await third.StopAsync(TimeSpan.FromSeconds(30));
        }

        AssertExactlyOnce(events, await StoredOrdersAsync());
    }

    [Theory]
    [InlineData("Consumer", null)]
    [InlineData("Consumer", "host-a")] // Static members: host-a-1 and host-a-2, not one id fencing the other.
    [InlineData("Classic", null)]
    public async Task Two_consumers_in_the_group_share_the_partitions_and_still_store_each_order_once(string groupProtocol, string? instanceId)
    {
        var events = Simulate(6_000, seed: 4);
        await using var consumer = StartConsumer(consumers: 2, maxBatchSize: 300, groupProtocol: groupProtocol, instanceId: instanceId);
        await consumer.WaitUntilHealthyAsync(Patience);
        await ProduceAsync(events);

        await WaitForIngestedAsync(consumer, events.Count);
        await consumer.StopAsync(TimeSpan.FromSeconds(30));

        // Each consumer held partitions: two members, not one id fencing the other out.
        foreach (var number in new[] { 1, 2 })
        {
            var name = instanceId is null ? $"{number}" : $"{number} ({instanceId}-{number})";
            Assert.Matches($@"Partitions assigned to consumer {System.Text.RegularExpressions.Regex.Escape(name)}, resuming at: \d+@", consumer.Output);
        }

        AssertExactlyOnce(events, await StoredOrdersAsync());
    }

    [Fact]
    public async Task A_broker_without_the_consumer_group_protocol_is_named_in_a_warning_with_the_setting_to_change()
    {
        // librdkafka retries such a broker quietly instead of failing; the service must say what is wrong.
        Kafka.Broker.RefuseConsumerGroupProtocol();
        await using var consumer = StartConsumer();
        await consumer.WaitUntilHealthyAsync(Patience);

        await consumer.WaitForOutputAsync("set Aspire:Confluent:Kafka:Consumer:Config:GroupProtocol=Classic", Patience);
        Assert.Contains("Consumer 1 has been given no partitions in group ecommerce-ingestion for 20 s (Consumer group protocol)", consumer.Output,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Offsets_stored_for_a_cluster_that_was_replaced_are_detected_and_the_new_cluster_is_read_from_its_beginning()
    {
        var before = Simulate(3_000, seed: 5);
        await ProduceAsync(before);
        await using (var consumer = StartConsumer())
        {
            await consumer.WaitUntilHealthyAsync(Patience);
            await WaitForIngestedAsync(consumer, before.Count);
            await consumer.StopAsync(TimeSpan.FromSeconds(30));
        }

        // The embedded broker starts empty each run while the DuckDB file persists: same offsets, other records.
        var replacement = new EmbeddedKafka();
        await replacement.InitializeAsync();
        try
        {
            var after = Simulate(4_000, seed: 6);
            await ProduceAsync(after, replacement);
            await using var consumer = StartConsumer(replacement);
            await consumer.WaitUntilHealthyAsync(Patience);
            await WaitForIngestedAsync(consumer, after.Count);
            await consumer.StopAsync(TimeSpan.FromSeconds(30));

            // Said once for all the partitions of the assignment, not once per partition.
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(consumer.Output, "cluster was reset or replaced"));
            AssertExactlyOnce([.. before, .. after], await StoredOrdersAsync());
        }
        finally
        {
            await replacement.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_missing_warehouse_connection_string_fails_at_startup_naming_the_setting()
    {
        await using var consumer = ServiceProcess.Start("Ecommerce.Consumer", new Dictionary<string, string?>
        {
            ["ConnectionStrings__kafka"] = Kafka.BootstrapServers,
        });

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => consumer.WaitUntilHealthyAsync(Patience));
        Assert.Contains("ConnectionStrings:warehouse", failure.Message, StringComparison.Ordinal);
        Assert.NotEqual(0, consumer.ExitCode);
    }
}
