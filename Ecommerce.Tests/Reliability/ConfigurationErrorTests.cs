using System.Net;
using System.Text.Json;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Reliability;

/// <summary>Wrong settings stop a service at start-up with a message naming the setting, or show on /health.</summary>
public sealed class ConfigurationErrorTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_missing_kafka_connection_string_stops_both_services_naming_it()
    {
        foreach (var project in new[] { "Ecommerce.Producer", "Ecommerce.Consumer" })
        {
            using var directory = new TempDirectory();
            await using var service = ServiceProcess.Start(project, new Dictionary<string, string?>
            {
                ["ConnectionStrings__warehouse"] = $"Data Source={directory.File("w.duckdb")}",
            });

            var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => service.WaitUntilHealthyAsync(Patience));
            Assert.Contains("ConnectionStrings:kafka", failure.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_unwritable_warehouse_path_stops_the_consumer_naming_the_setting()
    {
        await using var service = ServiceProcess.Start("Ecommerce.Consumer", new Dictionary<string, string?>
        {
            ["ConnectionStrings__kafka"] = "127.0.0.1:9",
            ["ConnectionStrings__warehouse"] = "Data Source=/proc/ecommerce/not-here/warehouse.duckdb",
        });

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => service.WaitUntilHealthyAsync(Patience));
        Assert.Contains("ConnectionStrings:warehouse", failure.Message, StringComparison.Ordinal);
        Assert.NotEqual(0, service.ExitCode);
    }

    [Fact]
    public async Task An_unreachable_broker_shows_as_unhealthy_naming_the_address()
    {
        using var directory = new TempDirectory();
        await using var service = ServiceProcess.Start("Ecommerce.Consumer", new Dictionary<string, string?>
        {
            ["ConnectionStrings__kafka"] = "127.0.0.1:9",
            ["ConnectionStrings__warehouse"] = $"Data Source={directory.File("w.duckdb")}",
        });

        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                using var response = await service.Http.GetAsync(new Uri("/health", UriKind.Relative));
                var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                var kafka = report.GetProperty("checks").GetProperty("kafka");
                Assert.Equal("Unhealthy", kafka.GetProperty("status").GetString());
                Assert.Contains("127.0.0.1:9", kafka.GetProperty("description").GetString(), StringComparison.Ordinal);
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !service.HasExited)
            {
                await Task.Delay(250); // Not listening yet.
            }
        }
    }
}
