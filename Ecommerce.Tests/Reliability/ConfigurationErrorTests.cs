using System.Net;
using System.Text.Json;
using Ecommerce.Testing;
using Ecommerce.Testing.Snowflake;
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
    public async Task A_wrong_setting_of_a_section_stops_each_service_with_one_line_naming_the_key()
    {
        using var directory = new TempDirectory();
        var cases = new (string Project, string Key, string Value, string Expected)[]
        {
            ("Ecommerce.Consumer", "Ingestion__MaxBatchSize", "0", "Ingestion:MaxBatchSize is 0; expected 1 or more."),
            ("Ecommerce.Consumer", "Ingestion__WritePath", "7", "Ingestion:WritePath is 7; expected Direct or Landed."),
            ("Ecommerce.Consumer", "Ingestion__ModelLeaseDuration", "00:00:01", "Ingestion:ModelLeaseDuration is 00:00:01; expected 00:00:03 to 01:00:00."),
            ("Ecommerce.Consumer", "Ingestion__MaxModelledPerCycle", "0", "Ingestion:MaxModelledPerCycle is 0; expected 1 or more."),
            ("Ecommerce.Consumer", "Ingestion__LandedRetention", "00:01:00",
                "Ingestion:LandedRetention is 00:01:00; expected 00:00:00 (keep every landed order) or at least 00:10:00."),
            ("Ecommerce.Consumer", "Ingestion__MaxModelledPerPartition", "10000", "Ingestion:MaxModelledPerPartition is 10000, but it is no longer read; set Ingestion:MaxModelledPerCycle"),
            // A pattern subscription (librdkafka's ^...) is not a topic the batches and resume points could tell apart.
            ("Ecommerce.Consumer", "Ingestion__Topic", "^orders.*", "Ingestion:Topic is '^orders.*'; expected one topic's name"),
            ("Ecommerce.Consumer", "Ingestion__DeadLetterTopic", "orders dlq", "Ingestion:DeadLetterTopic is 'orders dlq'; expected one topic's name"),
            ("Ecommerce.Consumer", "Ingestion__InstanceId", "host a", "Ingestion:InstanceId is 'host a'; expected up to 200 letters, digits, '.', '_' or '-'"),
            // One group.instance.id for the whole process would be shared by its consumers.
            ("Ecommerce.Consumer", "Aspire__Confluent__Kafka__Consumer__Config__GroupInstanceId", "host-a",
                "Aspire:Confluent:Kafka:Consumer:Config:GroupInstanceId is set; set Ingestion:InstanceId instead"),
            // The consumer group protocol (the default) takes the session from the broker: librdkafka would refuse it later.
            ("Ecommerce.Consumer", "Aspire__Confluent__Kafka__Consumer__Config__SessionTimeoutMs", "6000",
                "Aspire:Confluent:Kafka:Consumer:Config:SessionTimeoutMs is set, but with the consumer group protocol"),
            ("Ecommerce.Consumer", "Warehouse__SaveStoredIdsEvery", "0", "Warehouse:SaveStoredIdsEvery is '0'; expected a whole number of orders, at least 1"),
            ("Ecommerce.Producer", "Simulator__InvalidRate", "2", "Simulator:InvalidRate is '2'; expected a share from 0 to 1."),
            // Values the binder cannot convert: its own message, which names the key.
            ("Ecommerce.Consumer", "Ingestion__MaxBatchDelay", "fast", "Failed to convert configuration value 'fast' at 'Ingestion:MaxBatchDelay'"),
            ("Ecommerce.Consumer", "Ingestion__Consumers", "two", "Failed to convert configuration value 'two' at 'Ingestion:Consumers'"),
            ("Ecommerce.Consumer", "Ingestion__WritePath", "Batched", "Failed to convert configuration value 'Batched' at 'Ingestion:WritePath'"),
            ("Ecommerce.Producer", "Simulator__Rate", "fast", "Failed to convert configuration value 'fast' at 'Simulator:Rate'"),
        };
        foreach (var (project, key, value, expected) in cases)
        {
            await using var service = ServiceProcess.Start(project, new Dictionary<string, string?>
            {
                ["ConnectionStrings__kafka"] = "127.0.0.1:9",
                ["ConnectionStrings__warehouse"] = $"Data Source={directory.File($"{project}.duckdb")}",
                [key] = value,
            });

            await Assert.ThrowsAsync<InvalidOperationException>(() => service.WaitUntilHealthyAsync(Patience));
            Assert.Equal(1, service.ExitCode);
            Assert.Contains($"{project} cannot start: {expected}", service.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", service.Output, StringComparison.Ordinal); // No stack trace for a setting.
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

    [Theory]
    [InlineData("Production")]
    [InlineData("Development")]
    public async Task An_unreachable_broker_shows_as_unhealthy_naming_the_address_outside_production(string environment)
    {
        using var directory = new TempDirectory();
        await using var service = ServiceProcess.Start("Ecommerce.Consumer", new Dictionary<string, string?>
        {
            ["ConnectionStrings__kafka"] = "127.0.0.1:9",
            ["ConnectionStrings__warehouse"] = $"Data Source={directory.File("w.duckdb")}",
            ["DOTNET_ENVIRONMENT"] = environment,
            ["ASPNETCORE_ENVIRONMENT"] = environment,
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
                var description = kafka.GetProperty("description").GetString();
                if (environment == "Production")
                {
                    // A summary with the error's code; no host name, no error text.
                    Assert.StartsWith("Kafka did not answer (kafka_", description, StringComparison.Ordinal);
                    Assert.DoesNotContain("127.0.0.1", description, StringComparison.Ordinal);
                }
                else
                {
                    Assert.Contains("127.0.0.1:9", description, StringComparison.Ordinal);
                }

                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && DateTime.UtcNow < deadline && !service.HasExited)
            {
                await Task.Delay(250); // Not listening yet, or the first health check (a Kafka metadata timeout) outlasted the client's.
            }
        }
    }

    [Fact]
    public async Task Missing_snowflake_settings_stop_the_consumer_naming_the_first_missing_key()
    {
        await using var service = ServiceProcess.Start("Ecommerce.Consumer", new Dictionary<string, string?>
        {
            ["ConnectionStrings__kafka"] = "127.0.0.1:9",
            ["Warehouse__Provider"] = "Snowflake",
            ["Snowflake__User"] = "INGEST_SVC",
        });

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => service.WaitUntilHealthyAsync(Patience));
        Assert.Contains("Snowflake:Account is not set", failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, service.ExitCode);
    }

    [Fact]
    public async Task A_key_snowflake_does_not_know_stops_the_consumer_with_an_authentication_error()
    {
        await using var snowflake = await SnowflakeSqlApiDouble.StartAsync();
        using var directory = new TempDirectory();
        using var otherKey = System.Security.Cryptography.RSA.Create(2048);
        var keyPath = directory.File("wrong_key.p8");
        await File.WriteAllTextAsync(keyPath, otherKey.ExportPkcs8PrivateKeyPem());
        var environment = snowflake.ConsumerSettings(keyPath).ToDictionary(s => s.Key, s => s.Value);
        environment["ConnectionStrings__kafka"] = "127.0.0.1:9";
        await using var service = ServiceProcess.Start("Ecommerce.Consumer", environment);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => service.WaitUntilHealthyAsync(Patience));
        Assert.Contains("Snowflake refused user TESTORG-TESTACCOUNT.INGEST_SVC", failure.Message, StringComparison.Ordinal);
        Assert.Contains(Consumer.Warehouse.Snowflake.KeyPairCredentials.Fingerprint(otherKey), failure.Message, StringComparison.Ordinal);
        Assert.Contains("390144", failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, service.ExitCode);
        Assert.DoesNotContain("PRIVATE KEY", service.Output, StringComparison.Ordinal);
    }
}
