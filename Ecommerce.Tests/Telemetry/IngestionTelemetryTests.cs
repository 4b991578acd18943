using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Producer.Simulation;
using Ecommerce.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Ecommerce.Tests.Telemetry;

/// <summary>
/// The ingestion pipeline hosted in-process with the service defaults and an in-memory exporter: its spans tell one
/// story with the producer's, and its metrics count exactly what happened to a known input.
/// </summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class IngestionTelemetryTests : PipelineTest
{
    [Fact]
    public async Task Batch_spans_link_to_the_producer_spans_the_warehouse_write_is_their_child_and_metrics_count_the_input()
    {
        // A known input: 300 valid orders and 20 invalid ones, each sent under a producer span of its own.
        var generator = new OrderGenerator(new SimulatorOptions { Seed = 8, Customers = 100, InvalidRate = 0.06 }, TimeProvider.System);
        var events = Enumerable.Range(0, 320).Select(_ => generator.Next()).ToList();
        var producerSpans = new Dictionary<ActivityTraceId, ActivitySpanId>();
        using (var producer = Kafka.CreateProducer())
        {
            foreach (var simulated in events)
            {
                var context = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
                producerSpans[context.TraceId] = context.SpanId;
                var headers = new Headers { { "traceparent", Encoding.ASCII.GetBytes($"00-{context.TraceId}-{context.SpanId}-01") } };
                await producer.ProduceAsync("orders", new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(simulated.Key), Value = simulated.Payload, Headers = headers });
            }
        }

        var spans = new List<Activity>();
        var metrics = new List<MetricSnapshot>();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:kafka"] = Kafka.BootstrapServers,
            ["ConnectionStrings:warehouse"] = $"Data Source={WarehousePath}",
            ["Ingestion:MaxBatchSize"] = "100",
            ["Aspire:Confluent:Kafka:Consumer:StatisticsIntervalMs"] = "200",
        });
        builder.AddServiceDefaults();
        builder.AddOrderIngestion();
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddInMemoryExporter(spans))
            .WithMetrics(m => m.AddInMemoryExporter(metrics));

        var snapshotsBeforeFlush = 0;
        using (var host = builder.Build())
        {
            await host.StartAsync();
            var status = host.Services.GetRequiredService<IngestionStatus>();
            // Everything handled, and committed: every partition reports no lag (the gauge reads the same status).
            bool Done() => status.Ingested + status.DeadLettered == events.Count
                && status.Partitions.Count == EmbeddedKafka.Partitions && status.Partitions.All(p => p.Lag == 0);
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (!Done() && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Assert.True(Done(), $"not all handled and committed within 90 s: {status.Ingested} ingested, {status.DeadLettered} dead-lettered of {events.Count}");
            await Task.Delay(500); // One more round of librdkafka statistics (messaging.receive.messages) after the last batch.
            snapshotsBeforeFlush = metrics.Count; // A periodic export may have come before; the lag is read from this flush's.
            host.Services.GetRequiredService<MeterProvider>().ForceFlush(); // While partitions (and lag) are assigned.
            await host.StopAsync();
            host.Services.GetRequiredService<MeterProvider>().ForceFlush();
        }

        var valid = events.Where(e => e.Kind == EventKind.Valid).ToList();
        var invalid = events.Count - valid.Count;

        // Traces: every valid order's producer span is linked from the batch span that processed it.
        var batches = spans.Where(s => s.Kind == ActivityKind.Consumer && s.OperationName == "process orders").ToList();
        Assert.NotEmpty(batches);
        var linked = batches.SelectMany(b => b.Links).ToList();
        Assert.Equal(valid.Count, linked.Count);
        Assert.All(linked, link => Assert.Equal(producerSpans[link.Context.TraceId], link.Context.SpanId));
        Assert.All(batches, b =>
        {
            // ...and continues the trace of the first of them, so one trace runs from simulator to warehouse.
            Assert.Equal(b.Links.First().Context.TraceId, b.TraceId);
            Assert.Equal(b.Links.First().Context.SpanId, b.ParentSpanId);
            Assert.Equal("kafka", b.GetTagItem("messaging.system"));
            Assert.Equal("orders", b.GetTagItem("messaging.destination.name"));
            Assert.True((int)b.GetTagItem("messaging.batch.message_count")! > 0);
            Assert.Equal("process", b.GetTagItem("messaging.operation.type"));
            Assert.Equal("MSG kafka process orders", AspireDashboardTitle(b));
        });

        // The warehouse write is a child of its batch span, with the database and row counts.
        var writes = spans.Where(s => s.OperationName == "INSERT FACT_ORDERS").ToList();
        Assert.Equal(batches.Count, writes.Count);
        Assert.All(writes, w =>
        {
            Assert.Contains(batches, b => b.SpanId == w.ParentSpanId && b.TraceId == w.TraceId);
            Assert.Equal("duckdb", w.GetTagItem("db.system.name"));
            Assert.Equal("DATA duckdb INSERT FACT_ORDERS", $"DATA {w.GetTagItem("db.system")} {w.OperationName}"); // The Aspire dashboard's title.
        });
        Assert.Equal(valid.Count, writes.Sum(w => (int)w.GetTagItem("ecommerce.rows.orders")!));

        // Each dead letter has a span saying why.
        var deadLetterSpans = spans.Where(s => s.OperationName == "send orders.dlq").ToList();
        Assert.Equal(invalid, deadLetterSpans.Count);
        Assert.All(deadLetterSpans, s => Assert.False(string.IsNullOrEmpty((string?)s.GetTagItem("ecommerce.dead_letter.reason"))));
        Assert.All(deadLetterSpans, s => Assert.Equal("MSG kafka send orders.dlq", AspireDashboardTitle(s)));

        // Metrics: the counts, the business figures and the batch histograms match the input.
        Assert.Equal(valid.Count, Sum(metrics, "ecommerce.ingestion.events", ("ecommerce.ingestion.outcome", "ingested")));
        Assert.Equal(invalid, Sum(metrics, "ecommerce.ingestion.events", ("ecommerce.ingestion.outcome", "dead_lettered")));
        foreach (var category in valid.GroupBy(e => e.Order.Category))
        {
            Assert.Equal(category.Sum(e => e.Order.Quantity), Sum(metrics, "ecommerce.sales.units", ("ecommerce.product.category", category.Key)));
            Assert.Equal((double)category.Sum(e => e.Order.Price * e.Order.Quantity), SumDouble(metrics, "ecommerce.sales.revenue", ("ecommerce.product.category", category.Key)), precision: 2);
        }

        Assert.Equal(events.Count, HistogramSum(metrics, "ecommerce.ingestion.batch.size"));
        Assert.True(HistogramCount(metrics, "ecommerce.ingestion.batch.duration") >= batches.Count);
        Assert.Equal(valid.Count, HistogramCount(metrics, "ecommerce.ingestion.latency"));
        Assert.True(Points(metrics, "messaging.receive.messages").Max(p => p.GetSumLong()) >= events.Count);
        var lagWhileAssigned = metrics.Skip(snapshotsBeforeFlush).Where(m => m.Name == "ecommerce.ingestion.lag").Take(1).ToList();
        Assert.Equal(EmbeddedKafka.Partitions, Points(lagWhileAssigned, "ecommerce.ingestion.lag").Count());
        Assert.All(Points(lagWhileAssigned, "ecommerce.ingestion.lag"), p => Assert.Equal(0, p.GetGaugeLastValueLong()));
    }

    /// <summary>
    /// The title the Aspire dashboard gives a messaging span: "MSG", then the attributes messaging.system,
    /// messaging.operation and messaging.destination.name (as its trace view composes it).
    /// </summary>
    private static string AspireDashboardTitle(Activity span) =>
        $"MSG {span.GetTagItem("messaging.system")} {span.GetTagItem("messaging.operation")} {span.GetTagItem("messaging.destination.name")}";

    private static IEnumerable<MetricPoint> Points(List<MetricSnapshot> metrics, string name, (string Key, string Value)? tag = null)
    {
        // A snapshot is kept of every collection; cumulative temporality means the last one holds the totals.
        var metric = metrics.Last(m => m.Name == name);
        foreach (var point in metric.MetricPoints)
        {
            var matches = tag is null;
            foreach (var pair in point.Tags)
            {
                matches |= pair.Key == tag?.Key && Equals(pair.Value, tag?.Value);
            }

            if (matches)
            {
                yield return point;
            }
        }
    }

    private static long Sum(List<MetricSnapshot> metrics, string name, (string, string) tag) => Points(metrics, name, tag).Sum(p => p.GetSumLong());

    private static double SumDouble(List<MetricSnapshot> metrics, string name, (string, string) tag) => Points(metrics, name, tag).Sum(p => p.GetSumDouble());

    private static double HistogramSum(List<MetricSnapshot> metrics, string name) => Points(metrics, name).Sum(p => p.GetHistogramSum());

    private static long HistogramCount(List<MetricSnapshot> metrics, string name) => Points(metrics, name).Sum(p => p.GetHistogramCount());
}

/// <summary>
/// Activity sources and meters are process-wide: while this collection runs, no other test may write batches in this
/// process (the differential tests do), or their spans and measurements would be counted here.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideTelemetry
{
    public const string Name = "Process-wide telemetry";
}
