using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Reliability;

/// <summary>
/// Whatever arrives on the topic, the consumer keeps going: every invalid event is on the dead-letter topic with
/// a reason, every valid one is in the warehouse with its text exactly as sent, and nothing is unaccounted for.
/// </summary>
public sealed class HostileInputTests : PipelineTest
{
    private static int _sequence;

    /// <summary>A valid order of its own customer and product, so that its names are the ones stored for them.</summary>
    private static JsonObject ValidOrder(string? customerName = null, string? productName = null)
    {
        var n = Interlocked.Increment(ref _sequence);
        return new JsonObject
        {
            ["order_id"] = $"hostile-{n:D6}",
            ["order_timestamp"] = new DateTime(2026, 11, 20, 10, 0, 0, DateTimeKind.Utc).AddSeconds(n).ToString("O", CultureInfo.InvariantCulture),
            ["customer_id"] = $"C{n:D6}",
            ["customer_name"] = customerName ?? "Plain Name",
            ["customer_region"] = "North",
            ["product_id"] = $"P{n:D6}",
            ["product_name"] = productName ?? "Plain Product",
            ["category"] = "Books",
            ["price"] = 9.99m,
            ["quantity"] = 1,
        };
    }

    private static byte[] Bytes(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));

    private static JsonObject With(string field, JsonNode? value)
    {
        var order = ValidOrder();
        order[field] = value;
        return order;
    }

    /// <summary>Names that are valid and must come back byte for byte.</summary>
    public static readonly string[] TrickyButValidNames =
    [
        "Robert'); DROP TABLE FACT_ORDERS;--",
        "\" OR 1=1 --",
        "O'Brien \\ back\\slash",
        "Zoë Ōkubo",
        "李雷 韩梅梅",
        "محمد علي",
        "Ελένη Παπαδοπούλου",
        "🚀 Rocket 👩‍👩‍👧 Family",
        "e\u0301 combining accent",
        "{{orders}} placeholder-like",
        "?, ?, ? positional-like",
        new string('x', 200),
    ];

    /// <summary>Names as sent, with tabs, line breaks and NUL, and as they must be stored.</summary>
    public static readonly (string Sent, string Stored)[] NamesWithControlCharacters =
    [
        ("Tab\tSeparated", "Tab Separated"),
        ("Line\r\nBreak", "Line Break"),
        ("Nul\u0000Byte", "Nul Byte"),
    ];

    private static List<(string Label, byte[]? Value, bool Valid)> Corpus()
    {
        var corpus = new List<(string, byte[]?, bool)>();
        foreach (var name in TrickyButValidNames)
        {
            corpus.Add(($"name {name[..Math.Min(12, name.Length)]}", Bytes(ValidOrder(customerName: name, productName: name)), true));
        }

        // Control characters in descriptive text cost no order: they are stored as spaces.
        foreach (var (sent, _) in NamesWithControlCharacters)
        {
            corpus.Add(($"control characters {sent[..4]}", Bytes(ValidOrder(customerName: sent, productName: sent)), true));
        }

        var valid = Bytes(ValidOrder());
        corpus.AddRange(
        [
            ("truncated JSON", valid[..(valid.Length / 2)], false),
            ("not JSON", "hello, world"u8.ToArray(), false),
            ("JSON array", "[1,2,3]"u8.ToArray(), false),
            ("JSON string", "\"order\""u8.ToArray(), false),
            ("raw NUL byte", [.. valid[..10], 0, .. valid[10..]], false),
            ("invalid UTF-8", [.. valid[..20], 0xC3, 0x28, .. valid[20..]], false),
            ("empty", [], false),
            ("tombstone", null, false),
            ("oversized", Bytes(With("product_name", new string('y', 100_000))), false),
            ("NUL in an id", Bytes(With("customer_id", "Nul\u0000Id")), false),
            ("newline in an id", Bytes(With("order_id", "Line\nBreak")), false),
            ("overlong name", Bytes(With("customer_name", new string('z', 201))), false),
            ("quantity zero", Bytes(With("quantity", 0)), false),
            ("quantity negative", Bytes(With("quantity", -3)), false),
            ("quantity huge", Bytes(With("quantity", 10_000_000_000)), false),
            ("quantity fractional", Bytes(With("quantity", 1.5)), false),
            ("quantity as text", Bytes(With("quantity", "1")), false),
            ("price negative", Bytes(With("price", -0.01m)), false),
            ("price huge", Bytes(With("price", 1e20)), false),
            ("price with three decimals", Bytes(With("price", 1.005m)), false),
            ("price as text", Bytes(With("price", "9.99")), false),
            ("price null", Bytes(With("price", null)), false),
            ("timestamp garbage", Bytes(With("order_timestamp", "not a time")), false),
            ("timestamp number", Bytes(With("order_timestamp", 1_700_000_000)), false),
            ("timestamp year 9999", Bytes(With("order_timestamp", "9999-01-01T00:00:00Z")), false),
            ("timestamp time only", Bytes(With("order_timestamp", "12:34:56")), false),
            ("timestamp US date", Bytes(With("order_timestamp", "1/2/2024")), false),
            ("timestamp in words", Bytes(With("order_timestamp", "1 May 2024")), false),
            ("timestamp next year", Bytes(With("order_timestamp", DateTime.UtcNow.AddYears(1).ToString("O", CultureInfo.InvariantCulture))), false),
            ("timestamp 2199", Bytes(With("order_timestamp", "2199-06-01T00:00:00Z")), false),
            ("customer id number", Bytes(With("customer_id", 42)), false),
            ("category object", Bytes(With("category", new JsonObject { ["name"] = "Books" })), false),
            ("missing order id", Bytes(RemoveField("order_id")), false),
            ("duplicate key", Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(valid).Replace("}", ",\"quantity\":7}", StringComparison.Ordinal)), false),
            ("deep nesting", Encoding.UTF8.GetBytes(new string('[', 5_000) + new string(']', 5_000)), false),
        ]);
        return corpus;
    }

    private static JsonObject RemoveField(string field)
    {
        var order = ValidOrder();
        order.Remove(field);
        return order;
    }

    [Fact]
    public async Task A_corpus_of_hostile_events_and_thousands_of_fuzzed_ones_are_all_accounted_for_and_the_consumer_never_stops()
    {
        var corpus = Corpus();
        var fuzzed = Fuzz(count: 3_000, seed: 12345);
        var all = corpus.Select(c => (Key: (string?)"hostile", c.Value)).Concat(fuzzed.Select(f => (Key: (string?)"fuzz", (byte[]?)f))).ToList();
        await Kafka.ProduceAsync("orders", all);

        var warehousePath = WarehousePath;
        long deadLettered;
        await using (var consumer = StartConsumer(settings: ("Ingestion__MaxBatchSize", "400")))
        {
            await consumer.WaitUntilHealthyAsync(Patience);
            // Nothing lost: each event is ingested, recognised as a duplicate, or dead-lettered (conflicts included).
            var status = await consumer.WaitForStatusAsync("/api/ingestion/status",
                s => s.GetProperty("ingested").GetInt64() + s.GetProperty("duplicates").GetInt64() + s.GetProperty("deadLettered").GetInt64() >= all.Count,
                Patience, "every event accounted for");
            Assert.Equal(all.Count, status.GetProperty("ingested").GetInt64() + status.GetProperty("duplicates").GetInt64() + status.GetProperty("deadLettered").GetInt64());
            Assert.Equal("running", status.GetProperty("state").GetString());
            deadLettered = status.GetProperty("deadLettered").GetInt64();
            await consumer.StopAsync(TimeSpan.FromSeconds(30));
        }

        // Every invalid event of the corpus is on the dead-letter topic, with a reason; no valid one is.
        var deadLetters = Kafka.ReadAll("orders.dlq", (int)deadLettered, Patience);
        Assert.Equal(deadLettered, deadLetters.Count);
        var deadCorpus = deadLetters.Where(d => d.Message.Key is { } k && Encoding.UTF8.GetString(k) == "hostile").ToList();
        var invalid = corpus.Where(c => !c.Valid).ToList();
        Assert.Equal(invalid.Count, deadCorpus.Count);
        // Byte for byte, but for values over 64 KiB: those carry their first 64 KiB (and say so in a header).
        Assert.Equal(
            invalid.Select(c => Convert.ToBase64String((c.Value ?? []).Take(Consumer.Ingestion.DeadLetterPublisher.MaxValueBytes).ToArray())).Order(),
            deadCorpus.Select(d => Convert.ToBase64String(d.Message.Value ?? [])).Order());
        Assert.All(deadLetters, d => Assert.NotEmpty(d.Message.Headers.GetLastBytes("dlq.reason")));

        // Every valid one is stored with its text exactly as sent.
        await using var warehouse = new DuckDbWarehouseProvider($"Data Source={warehousePath}");
        var names = (await warehouse.QueryAsync(new SqlStatement(
                "SELECT c.CUSTOMER_NAME, p.PRODUCT_NAME FROM FACT_ORDERS f JOIN DIM_CUSTOMER c ON c.CUSTOMER_SK = f.CUSTOMER_SK JOIN DIM_PRODUCT p ON p.PRODUCT_ID = f.PRODUCT_ID WHERE f.ORDER_ID LIKE 'hostile-%'"),
            CancellationToken.None))
            .SelectMany(r => new[] { (string)r[0]!, (string)r[1]! }).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(TrickyButValidNames.ToHashSet(StringComparer.Ordinal), names);
        Assert.Superset(NamesWithControlCharacters.Select(n => n.Stored).ToHashSet(StringComparer.Ordinal), names);
        var tables = await warehouse.QueryAsync(new SqlStatement("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'FACT_ORDERS'"), CancellationToken.None);
        Assert.Equal(1L, Convert.ToInt64(tables[0][0], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_record_of_a_megabyte_goes_to_the_dead_letter_topic_in_short_and_every_valid_order_around_it_lands()
    {
        // A little under what the broker takes (about 1 MiB), more than a default producer sends: the dead letter of
        // the whole record, with its headers, would not fit.
        var huge = new byte[1_000_100];
        Array.Fill(huge, (byte)'x');
        var before = Enumerable.Range(0, 200).Select(_ => Bytes(ValidOrder())).ToList();
        var after = Enumerable.Range(0, 200).Select(_ => Bytes(ValidOrder())).ToList();
        using (var producer = new Confluent.Kafka.ProducerBuilder<byte[]?, byte[]?>(new Confluent.Kafka.ProducerConfig
               {
                   BootstrapServers = Kafka.BootstrapServers, EnableIdempotence = true, MessageMaxBytes = 2_000_000,
               }).Build())
        {
            foreach (var value in before.Append(huge).Concat(after))
            {
                await producer.ProduceAsync(new Confluent.Kafka.TopicPartition("orders", 0), new Confluent.Kafka.Message<byte[]?, byte[]?> { Value = value });
            }
        }

        await using var consumer = StartConsumer();
        await consumer.WaitUntilHealthyAsync(Patience);
        var status = await consumer.WaitForStatusAsync("/api/ingestion/status",
            s => s.GetProperty("ingested").GetInt64() == 400 && s.GetProperty("deadLettered").GetInt64() == 1, Patience, "400 orders and one dead letter");
        Assert.Equal("running", status.GetProperty("state").GetString());

        var deadLetter = Assert.Single(Kafka.ReadAll("orders.dlq", 1, Patience));
        Assert.Equal(Consumer.Ingestion.DeadLetterPublisher.MaxValueBytes, deadLetter.Message.Value!.Length);
        Assert.Equal("1000100", Encoding.UTF8.GetString(deadLetter.Message.Headers.GetLastBytes(Consumer.Ingestion.DeadLetterPublisher.ValueTruncatedHeader)));
        Assert.Equal("too_large", Encoding.UTF8.GetString(deadLetter.Message.Headers.GetLastBytes("dlq.error.code")));
        await consumer.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_dead_letter_the_dead_letter_topic_still_refuses_as_too_large_goes_with_its_metadata_only()
    {
        // A dead-letter producer limited to 20 kB: even the 64 KiB prefix is refused, so the metadata goes alone.
        var large = Bytes(With("product_name", new string('y', 30_000)));
        await Kafka.ProduceAsync("orders", [(null, large), (null, Bytes(ValidOrder()))]);

        await using var consumer = StartConsumer(settings: ("Aspire__Confluent__Kafka__Producer__Config__MessageMaxBytes", "20000"));
        await consumer.WaitUntilHealthyAsync(Patience);
        await consumer.WaitForStatusAsync("/api/ingestion/status",
            s => s.GetProperty("ingested").GetInt64() == 1 && s.GetProperty("deadLettered").GetInt64() == 1, Patience, "the valid order and the dead letter");

        var deadLetter = Assert.Single(Kafka.ReadAll("orders.dlq", 1, Patience));
        Assert.Empty(deadLetter.Message.Value ?? []);
        Assert.Equal(large.Length.ToString(CultureInfo.InvariantCulture),
            Encoding.UTF8.GetString(deadLetter.Message.Headers.GetLastBytes(Consumer.Ingestion.DeadLetterPublisher.ValueTruncatedHeader)));
        Assert.Equal("out_of_range", Encoding.UTF8.GetString(deadLetter.Message.Headers.GetLastBytes("dlq.error.code")));
        Assert.Contains("too large for the dead-letter topic", consumer.Output, StringComparison.Ordinal);
        await consumer.StopAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Large_records_close_a_batch_at_MaxBatchBytes_rather_than_at_MaxBatchSize()
    {
        // 40 invalid records of 30 kB each: with batches bounded to 64 KiB, no batch holds more than three.
        var padding = new string('p', 30_000);
        var records = Enumerable.Range(0, 40).Select(i => ((string?)null, (byte[]?)Encoding.UTF8.GetBytes("{\"broken\": " + i + ", \"pad\": \"" + padding))).ToList();
        await Kafka.ProduceAsync("orders", records);

        await using var consumer = StartConsumer(settings: [("Ingestion__MaxBatchBytes", "65536"), ("Ingestion__MaxBatchDelay", "00:00:05")]);
        await consumer.WaitUntilHealthyAsync(Patience);
        var status = await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("deadLettered").GetInt64() == 40, Patience, "40 dead letters");

        Assert.True(status.GetProperty("batches").GetInt64() >= 14, $"{status.GetProperty("batches").GetInt64()} batches for 40 records of 30 kB");
        await consumer.StopAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Valid events with random damage: bytes flipped, cut, dropped or inserted, fields swapped or removed.</summary>
    private static List<byte[]> Fuzz(int count, int seed)
    {
        var random = new Random(seed);
        var result = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            var order = ValidOrder();
            var bytes = Bytes(order).ToList();
            switch (random.Next(6))
            {
                case 0:
                    bytes[random.Next(bytes.Count)] = (byte)random.Next(256);
                    break;
                case 1:
                    var at = random.Next(bytes.Count);
                    bytes.RemoveRange(at, Math.Min(1 + random.Next(3), bytes.Count - at));
                    break;
                case 2:
                    const string Tricky = "\"{}[],:0-e\\ \u0001";
                    bytes.Insert(random.Next(bytes.Count), (byte)Tricky[random.Next(Tricky.Length)]);
                    break;
                case 3:
                    bytes = bytes.Take(random.Next(bytes.Count)).ToList();
                    break;
                case 4:
                    var fields = order.Select(p => p.Key).ToArray();
                    order.Remove(fields[random.Next(fields.Length)]);
                    bytes = Bytes(order).ToList();
                    break;
                default:
                    break; // Left valid: the fuzz set has real orders too.
            }

            result.Add([.. bytes]);
        }

        return result;
    }
}
