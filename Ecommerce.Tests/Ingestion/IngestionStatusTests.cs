using Ecommerce.Consumer.Ingestion;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Ecommerce.Tests.Ingestion;

/// <summary>What /health and the status endpoint say about trouble, in Production and elsewhere.</summary>
[Trait("Category", "Fast")]
public sealed class IngestionStatusTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task In_production_errors_are_shown_as_codes_and_summaries_without_their_text()
    {
        var status = new IngestionStatus { ShowErrorDetails = false };
        status.SetWriteFailure(new IOException("Could not write /srv/secret/warehouse.duckdb for user svc_ingest"));

        var (state, reason) = status.State(Now);
        var health = await new IngestionHealthCheck(status, new Infrastructure.FixedTimeProvider(Now)).CheckHealthAsync(new HealthCheckContext());

        Assert.Equal("degraded", state);
        Assert.Equal("warehouse writes are failing and being retried (warehouse_write_failed.IOException)", reason);
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.DoesNotContain("/srv/secret", health.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Outside_production_the_error_text_is_shown()
    {
        var status = new IngestionStatus();
        status.SetWriteFailure(new IOException("disk full"));

        Assert.Equal(("degraded", "warehouse writes are failing and being retried: disk full"), status.State(Now));
        status.SetWriteFailure(null);
        Assert.Equal(("running", null), status.State(Now));
    }

    [Fact]
    public void A_gap_upstream_keeps_the_service_degraded_for_an_hour_and_stays_listed()
    {
        var status = new IngestionStatus();
        status.RecordGap(new UpstreamGap("orders", 3, 100, 29_828, Now));

        Assert.Equal("degraded", status.State(Now.AddMinutes(59)).State);
        Assert.Contains("29728 events of orders[3] (offsets 100 to 29827)", status.State(Now).Reason, StringComparison.Ordinal);
        Assert.Equal("running", status.State(Now.AddMinutes(61)).State);
        Assert.Equal(29_728, status.LostUpstream);
        Assert.Single(status.Gaps);
    }
}
