using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Reliability;

/// <summary>
/// Events that the topic's retention deleted before ingestion read them are lost to the warehouse; that must never
/// pass silently. The embedded broker keeps about 5 MiB per partition, so producing well past that while the
/// consumer is stopped deletes events it never read.
/// </summary>
public sealed class UpstreamGapTests : PipelineTest
{
    private static byte[] Order(int n) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["order_id"] = $"gap-{n:D6}",
        ["order_timestamp"] = new DateTime(2026, 11, 20, 10, 0, 0, DateTimeKind.Utc).AddSeconds(n).ToString("O", CultureInfo.InvariantCulture),
        ["customer_id"] = $"C{n % 500}",
        ["customer_name"] = "Ada Lovelace",
        ["customer_region"] = "North",
        ["product_id"] = $"P{n % 40}",
        ["product_name"] = "A product with a reasonably long name, as real catalogues have",
        ["category"] = "Books",
        ["price"] = 19.99m,
        ["quantity"] = 1,
    }));

    /// <summary>Produces orders <paramref name="from"/> onwards into partition 0 and waits for every acknowledgement.</summary>
    private void Produce(int from, int count)
    {
        using var producer = Kafka.CreateProducer();
        for (var n = from; n < from + count; n++)
        {
            producer.Produce(new TopicPartition("orders", 0), new Message<byte[]?, byte[]?> { Value = Order(n) });
            if (n % 5_000 == 0)
            {
                producer.Flush(TimeSpan.FromSeconds(30));
            }
        }

        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Events_deleted_by_retention_before_they_were_read_are_reported_in_the_log_metrics_status_and_health()
    {
        using var otlp = new OtlpReceiver();
        (string, string?)[] settings =
        [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.Endpoint), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"), ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ];
        Produce(0, 100);
        await using (var first = StartConsumer(settings: settings))
        {
            await first.WaitUntilHealthyAsync(Patience);
            await first.WaitForStatusAsync("/api/ingestion/status", s => s.GetProperty("ingested").GetInt64() == 100, Patience, "the first 100 orders");
            await first.StopAsync(TimeSpan.FromSeconds(30));
        }

        // While ingestion is stopped, far more than the partition keeps.
        Produce(100, 40_000);
        long low, high;
        using (var probe = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = Kafka.BootstrapServers, GroupId = "probe" }).Build())
        {
            var watermarks = probe.QueryWatermarkOffsets(new TopicPartition("orders", 0), TimeSpan.FromSeconds(10));
            (low, high) = (watermarks.Low.Value, watermarks.High.Value);
        }

        Assert.True(low > 100, $"retention deleted nothing unread (log start {low}); the test cannot show a gap");

        await using var second = StartConsumer(settings: settings);
        await second.WaitUntilHealthyAsync(Patience);
        var status = await second.WaitForStatusAsync("/api/ingestion/status",
            s => s.GetProperty("ingested").GetInt64() + s.GetProperty("duplicates").GetInt64() >= high - low, Patience, "every order still in the topic");

        Assert.Equal("degraded", status.GetProperty("state").GetString());
        Assert.Contains("deleted upstream", status.GetProperty("reason").GetString(), StringComparison.Ordinal);
        var gap = Assert.Single(status.GetProperty("gaps").EnumerateArray());
        Assert.Equal((0, 100L, low, low - 100), (gap.GetProperty("partition").GetInt32(), gap.GetProperty("fromOffset").GetInt64(),
            gap.GetProperty("toOffset").GetInt64(), gap.GetProperty("lost").GetInt64()));
        Assert.Equal(low - 100, status.GetProperty("lostUpstream").GetInt64());

        var health = await second.GetHealthAsync();
        Assert.Equal("Degraded", health.GetProperty("status").GetString());
        Assert.Contains($"offsets 100 to {low - 1} were deleted upstream", second.Output, StringComparison.Ordinal);

        var deadline = DateTime.UtcNow + Patience;
        while (!otlp.Received("/v1/metrics", "ecommerce.ingestion.gap") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        Assert.True(otlp.Received("/v1/metrics", "ecommerce.ingestion.gap"), "the gap counter was never exported");
        await second.StopAsync(TimeSpan.FromSeconds(30));
    }
}
