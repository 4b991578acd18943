using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Ecommerce.ServiceDefaults.Messaging;

/// <summary>
/// Ready when the cluster answers a metadata request. Only metadata is asked for: it is the cheapest request
/// every broker (and the embedded mock broker) answers, and it creates nothing on the cluster.
/// </summary>
public sealed class KafkaHealthCheck(string bootstrapServers) : IHealthCheck, IDisposable
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(5);
    private readonly Lazy<IAdminClient> _admin = new(() => new AdminClientBuilder(new AdminClientConfig
    {
        BootstrapServers = bootstrapServers,
        SocketTimeoutMs = (int)MetadataTimeout.TotalMilliseconds,
        // The check's own client should not spam the log while the broker is down; the result says it.
        LogConnectionClose = false,
    }).SetLogHandler((_, _) => { }).Build());

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // GetMetadata blocks; keep it off the request thread.
            var metadata = await Task.Run(() => _admin.Value.GetMetadata(MetadataTimeout), cancellationToken);
            return metadata.Brokers.Count > 0
                ? HealthCheckResult.Healthy($"{metadata.Brokers.Count} broker(s), {metadata.Topics.Count} topic(s) at {bootstrapServers}")
                : HealthCheckResult.Unhealthy($"Kafka at {bootstrapServers} reported no brokers.", data: Summary("Kafka reported no brokers (kafka_no_brokers)"));
        }
        catch (KafkaException ex)
        {
            return HealthCheckResult.Unhealthy($"Kafka at {bootstrapServers} did not answer: {ex.Error.Reason}", ex,
                Summary($"Kafka did not answer (kafka_{ex.Error.Code})"));
        }
    }

    /// <summary>What /health shows in Production instead of the description, which names hosts and quotes errors.</summary>
    private static Dictionary<string, object> Summary(string text) => new() { [Microsoft.Extensions.Hosting.HealthReportWriter.SummaryKey] = text };

    public void Dispose()
    {
        if (_admin.IsValueCreated)
        {
            _admin.Value.Dispose();
        }
    }
}
