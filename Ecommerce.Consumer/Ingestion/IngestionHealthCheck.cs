using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>Unhealthy when ingestion has stopped, degraded while the warehouse refuses writes, healthy otherwise.</summary>
public sealed class IngestionHealthCheck(IngestionStatus status) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            status.Failure is { } failure ? HealthCheckResult.Unhealthy($"Ingestion stopped: {failure}")
            : status.DegradedReason is { } reason ? HealthCheckResult.Degraded($"Warehouse writes are failing and being retried: {reason}")
            : HealthCheckResult.Healthy($"{status.Ingested} orders ingested in {status.Batches} batches"));
}
