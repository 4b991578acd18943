using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// Unhealthy when ingestion has stopped; degraded while the warehouse refuses writes, or for an hour after events were
/// found deleted upstream before they could be read; healthy otherwise. Error texts only outside Production.
/// </summary>
public sealed class IngestionHealthCheck(IngestionStatus status, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var (state, reason) = status.State(time.GetUtcNow());
        return Task.FromResult(state switch
        {
            "failed" => HealthCheckResult.Unhealthy(reason),
            "degraded" => HealthCheckResult.Degraded(reason),
            _ => HealthCheckResult.Healthy($"{status.Ingested} orders ingested in {status.Batches} batches"),
        });
    }
}
