using Microsoft.Extensions.DependencyInjection;

namespace Ecommerce.AppHost;

public static class StopOrderExtensions
{
    /// <summary>
    /// On Ctrl-C or SIGTERM, stops the services (the project resources) before anything else, and waits for them.
    /// Left to itself, the AppHost exits at once: the embedded broker, which lives in the AppHost, is gone before the
    /// services have been told to stop, and the orchestrator then stops the services together with the dashboard, so
    /// their last telemetry export hangs until its 10-second timeout and the ingestion service may be killed before
    /// it closes its DuckDB file. Stopped first, the simulator flushes and the ingestion service commits, leaves its
    /// group and checkpoints its warehouse while the broker and the dashboard are still there.
    /// </summary>
    public static IDistributedApplicationBuilder StopServicesFirst(this IDistributedApplicationBuilder builder)
    {
        builder.Services.AddHostedService<ServicesStopFirst>();
        return builder;
    }
}
