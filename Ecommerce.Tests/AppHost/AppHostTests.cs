using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Confluent.Kafka;
using Ecommerce.Tests.Infrastructure;
using TempDirectory = Ecommerce.Tests.Infrastructure.TempDirectory;

namespace Ecommerce.Tests.AppHost;

/// <summary>The real AppHost, started the way <c>dotnet run --project Ecommerce.AppHost</c> does, on this machine.</summary>
public sealed class AppHostTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task The_stack_starts_healthy_and_an_order_travels_from_kafka_to_the_analytics_api()
    {
        using var timeout = new CancellationTokenSource(Patience);
        using var directory = new TempDirectory();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Ecommerce_AppHost>(
            [
                "--Kafka:Mode=embedded",
                "--Kafka:Port=0",
                $"--Warehouse:Path={directory.File("warehouse.duckdb")}",
                "--Simulator:Rate=20",
            ],
            timeout.Token);
        WithoutTelemetryExport(builder);

        await using var app = await builder.BuildAsync(timeout.Token);
        await app.StartAsync(timeout.Token);
        foreach (var resource in new[] { "kafka", "consumer", "producer" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(resource, timeout.Token);
        }

        // An order of a product nobody else sells, sent straight to the broker the AppHost started.
        var bootstrapServers = await app.GetConnectionStringAsync("kafka", timeout.Token);
        var productId = $"TEST-{Guid.NewGuid():N}"[..20];
        var order = $$"""{"order_id":"{{Guid.NewGuid()}}","order_timestamp":"{{DateTimeOffset.UtcNow:O}}","customer_id":"C-TEST","customer_name":"Test Customer","customer_region":"North","product_id":"{{productId}}","product_name":"Test Product","category":"Books","price":12.50,"quantity":3}""";
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrapServers }).Build())
        {
            await producer.ProduceAsync("orders", new Message<string, string> { Key = "C-TEST", Value = order }, timeout.Token);
        }

        using var http = app.CreateHttpClient("consumer");
        JsonElement? product = null;
        while (product is null)
        {
            timeout.Token.ThrowIfCancellationRequested();
            var products = await http.GetFromJsonAsync<JsonElement>("/api/analytics/product-quantities?limit=10000", timeout.Token);
            product = products.EnumerateArray().Where(p => p.GetProperty("productId").GetString() == productId).Cast<JsonElement?>().FirstOrDefault();
            if (product is null)
            {
                await Task.Delay(250, timeout.Token);
            }
        }

        Assert.Equal(3, product.Value.GetProperty("quantitySold").GetInt64());
        Assert.Equal(37.50m, product.Value.GetProperty("revenue").GetDecimal());

        // The simulator's orders flow too.
        while ((await http.GetFromJsonAsync<JsonElement>("/api/ingestion/status", timeout.Token)).GetProperty("ingested").GetInt64() <= 1)
        {
            await Task.Delay(250, timeout.Token);
        }

        var stopping = Stopwatch.StartNew();
        await app.StopAsync(timeout.Token);
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(45), $"stopping took {stopping.Elapsed}");
    }

    [Fact]
    public async Task Both_services_are_given_the_dashboards_otlp_endpoint_and_export_traces_and_metrics_to_it()
    {
        using var timeout = new CancellationTokenSource(Patience);
        using var directory = new TempDirectory();
        using var receiver = new OtlpReceiver();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Ecommerce_AppHost>(
            ["--Kafka:Mode=embedded", "--Kafka:Port=0", $"--Warehouse:Path={directory.File("warehouse.duckdb")}", "--Simulator:Rate=20"],
            timeout.Token);

        // The AppHost gives every service the dashboard's OTLP endpoint; here it is swapped for a loopback receiver
        // (the testing builder runs no dashboard) speaking OTLP/HTTP, with short export intervals.
        var configured = new ConcurrentDictionary<string, string>();
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            project.Annotations.Add(new EnvironmentCallbackAnnotation(context =>
            {
                if (context.EnvironmentVariables.TryGetValue("OTEL_EXPORTER_OTLP_ENDPOINT", out var endpoint))
                {
                    configured[project.Name] = endpoint.ToString() ?? "";
                }

                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint;
                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
                context.EnvironmentVariables["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
                context.EnvironmentVariables["OTEL_BSP_SCHEDULE_DELAY"] = "500";
            }));
        }

        await using var app = await builder.BuildAsync(timeout.Token);
        await app.StartAsync(timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("consumer", timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("producer", timeout.Token);

        // Each service's first export may hold other spans (the consumer's warehouse write can leave before its
        // "process orders" span), so wait for every expected name, not only for each service to have spoken.
        // Span names are matched exactly: the consumer's "send orders.dlq" must not pass for the simulator's "send orders".
        (string What, Func<bool> Seen)[] expected =
        [
            ("traces of the producer", () => receiver.Received("/v1/traces", "producer")),
            ("traces of the consumer", () => receiver.Received("/v1/traces", "consumer")),
            ("span 'send orders'", () => receiver.ReceivedSpanNamed("send orders")),
            ("span 'process orders'", () => receiver.ReceivedSpanNamed("process orders")),
            ("metric ecommerce.orders.produced", () => receiver.Received("/v1/metrics", "ecommerce.orders.produced")),
            ("metric ecommerce.ingestion.events", () => receiver.Received("/v1/metrics", "ecommerce.ingestion.events")),
        ];
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (expected.Any(e => !e.Seen()) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250, timeout.Token);
        }

        var missing = expected.Where(e => !e.Seen()).Select(e => e.What).ToList();
        Assert.True(missing.Count == 0, $"never exported within 90 s: {string.Join(", ", missing)}");
        Assert.Equal(["consumer", "producer"], configured.Keys.Order());
        Assert.All(configured.Values, endpoint => Assert.False(string.IsNullOrWhiteSpace(endpoint)));
        await app.StopAsync(timeout.Token);
    }

    /// <summary>
    /// The testing builder points the services at an OTLP endpoint nothing listens on; their exporters would then
    /// retry until killed at shutdown. The dashboard test in the telemetry suite covers export.
    /// </summary>
    private static void WithoutTelemetryExport(IDistributedApplicationTestingBuilder builder)
    {
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            project.Annotations.Add(new EnvironmentCallbackAnnotation(context =>
            {
                foreach (var key in context.EnvironmentVariables.Keys.Where(k => k.StartsWith("OTEL_EXPORTER_OTLP", StringComparison.Ordinal)).ToList())
                {
                    context.EnvironmentVariables.Remove(key);
                }
            }));
        }
    }
}
