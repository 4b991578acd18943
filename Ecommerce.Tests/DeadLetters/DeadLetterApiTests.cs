using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DuckDB.NET.Data;
using Ecommerce.Consumer.DeadLetters;
using Ecommerce.Testing;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.DeadLetters;

/// <summary>
/// Dead letters as an operator meets them: listed with their reason through the ingestion service's API, and sent
/// to the orders topic again once what refused them no longer holds, to be ingested exactly once.
/// </summary>
public sealed class DeadLetterApiTests : PipelineTest
{
    private static byte[] Order(string id, DateTime timestamp) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["order_id"] = id,
        ["order_timestamp"] = timestamp.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture),
        ["customer_id"] = "C1",
        ["customer_name"] = "Ada",
        ["customer_region"] = "North",
        ["product_id"] = "P1",
        ["product_name"] = "Lamp",
        ["category"] = "Home",
        ["price"] = 12.5m,
        ["quantity"] = 2,
    }));

    [Fact(Timeout = 180_000)]
    public async Task Dead_letters_are_listed_with_their_reason_and_one_replayed_once_valid_is_ingested_exactly_once()
    {
        // An order from a few seconds ahead, refused by a consumer that allows no clock skew; it becomes valid as
        // soon as its time has come. Beside it, two events that never will: text that is not JSON, and bytes that
        // are not even text.
        await using var consumer = StartConsumer(settings: ("Ingestion__MaxFutureSkew", "00:00:00"));
        await consumer.WaitUntilHealthyAsync(Patience);

        // The order must be read before its time comes, so its time is set only once the consumer holds every
        // partition, with a margin for a slow fetch on a busy machine.
        await consumer.WaitForStatusAsync("/api/ingestion/status", OwnsEveryPartition, Patience, "every partition assigned");
        var due = DateTime.UtcNow.AddSeconds(12);
        await Kafka.ProduceAsync("orders", [("C1", Order("early-1", due)), ("k2", Encoding.UTF8.GetBytes("<b>not json</b>")), (null, [0xff, 0xfe, 0x00, 0x81])]);
        await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("deadLettered").GetInt64() == 3, Patience, "three dead letters");

        var all = await consumer.GetJsonAsync("/api/dead-letters");
        Assert.Equal(3, all.GetProperty("matching").GetInt32());
        var early = Assert.Single((await consumer.GetJsonAsync("/api/dead-letters?code=out_of_range")).GetProperty("items").EnumerateArray());
        Assert.Contains("order_timestamp", early.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("orders", early.GetProperty("source").GetProperty("topic").GetString());
        Assert.Contains("early-1", early.GetProperty("value").GetString(), StringComparison.Ordinal);
        Assert.True(early.GetProperty("replayable").GetBoolean());

        // The non-text event is shown as base64 and as nothing else; the markup is plain text in JSON.
        var malformed = (await consumer.GetJsonAsync("/api/dead-letters?code=malformed_json")).GetProperty("items").EnumerateArray().ToArray();
        Assert.Equal(2, malformed.Length);
        var binary = Assert.Single(malformed, m => m.GetProperty("value").ValueKind == JsonValueKind.Null);
        Assert.Equal(Convert.ToBase64String([0xff, 0xfe, 0x00, 0x81]), binary.GetProperty("valueBase64").GetString());
        Assert.Contains(malformed, m => m.GetProperty("value").GetString() == "<b>not json</b>");
        Assert.Equal(0, (await consumer.GetJsonAsync($"/api/dead-letters?to={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(-1).ToString("O", CultureInfo.InvariantCulture))}")).GetProperty("matching").GetInt32());

        // Once its time has come, the refused order is sent again: ingested. Sent a second time: a duplicate.
        var wait = due - DateTime.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait + TimeSpan.FromSeconds(1));
        }

        var position = new DeadLetterPosition(early.GetProperty("partition").GetInt32(), early.GetProperty("offset").GetInt64());
        var replay = await ReplayAsync(consumer, position);
        Assert.True(replay.Replayed, replay.Error);
        await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("ingested").GetInt64() == 1, Patience, "the replayed order ingested");
        Assert.True((await ReplayAsync(consumer, position)).Replayed);
        await consumer.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("duplicates").GetInt64() == 1, Patience, "the second replay seen as a duplicate");

        // The copies on the orders topic say where they come from.
        var copies = Kafka.ReadAll("orders", 5, TimeSpan.FromSeconds(10)).Where(r => r.Message.Headers?.TryGetLastBytes(DeadLetterReplayer.DeadLetterOffsetHeader, out _) == true).ToArray();
        Assert.Equal(2, copies.Length);
        Assert.All(copies, c => Assert.Equal("out_of_range", Encoding.UTF8.GetString(c.Message.Headers.GetLastBytes(DeadLetterReplayer.ReasonCodeHeader))));

        await consumer.StopAsync(TimeSpan.FromSeconds(30));
        using var warehouse = new DuckDBConnection($"Data Source={WarehousePath}");
        warehouse.Open();
        using var count = warehouse.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM FACT_ORDERS WHERE ORDER_ID = 'early-1'";
        Assert.Equal(1L, Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture));
    }

    [Fact(Timeout = 120_000)]
    public async Task Replays_of_dead_letters_that_do_not_exist_are_refused_each_with_its_reason()
    {
        await using var consumer = StartConsumer();
        await consumer.WaitUntilHealthyAsync(Patience);

        var missing = await ReplayAsync(consumer, new DeadLetterPosition(0, 999));
        Assert.False(missing.Replayed);
        Assert.Contains("no dead letter", missing.Error, StringComparison.Ordinal);

        using var empty = await consumer.Http.PostAsJsonAsync(new Uri("/api/dead-letters/replay", UriKind.Relative), new ReplayRequest([]));
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        using var badLimit = await consumer.Http.GetAsync(new Uri("/api/dead-letters?limit=0", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        Assert.Contains("limit", await badLimit.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<ReplayResult> ReplayAsync(ServiceProcess consumer, DeadLetterPosition position)
    {
        using var response = await consumer.Http.PostAsJsonAsync(new Uri("/api/dead-letters/replay", UriKind.Relative), new ReplayRequest([position]));
        response.EnsureSuccessStatusCode();
        var results = await response.Content.ReadFromJsonAsync<ReplayResult[]>(new JsonSerializerOptions(JsonSerializerDefaults.Web));
        return Assert.Single(results!);
    }
}
