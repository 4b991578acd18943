using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ecommerce.AppHost;

/// <summary>Stops every project resource while the rest of the application still runs; see <see cref="StopOrderExtensions.StopServicesFirst"/>.</summary>
internal sealed partial class ServicesStopFirst(
    DistributedApplicationModel model,
    ResourceCommandService commands,
    ResourceNotificationService notifications,
    ILogger<ServicesStopFirst> logger) : IHostedLifecycleService
{
    /// <summary>How long a service may take to stop; a service that takes longer is left to the orchestrator.</summary>
    internal static readonly TimeSpan StopBudget = TimeSpan.FromSeconds(20);

    private static readonly string[] StoppedStates =
        [KnownResourceStates.Finished, KnownResourceStates.Exited, KnownResourceStates.FailedToStart];

    // StoppingAsync runs before any hosted service's StopAsync, so before the orchestrator tears anything down.
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var services = model.Resources.OfType<ProjectResource>().Where(IsRunning).ToList();
        if (services.Count == 0)
        {
            return;
        }

        var started = TimeProvider.System.GetTimestamp();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(StopBudget);
        await Task.WhenAll(services.Select(service => StopAsync(service, budget.Token)));
        LogServicesStopped(string.Join(", ", services.Select(s => s.Name)), TimeProvider.System.GetElapsedTime(started).TotalSeconds);
    }

    private bool IsRunning(ProjectResource service) =>
        notifications.TryGetCurrentState(service.Name, out var evt) && evt.Snapshot.State?.Text == KnownResourceStates.Running;

    private async Task StopAsync(ProjectResource service, CancellationToken cancellationToken)
    {
        try
        {
            var result = await commands.ExecuteCommandAsync(service, KnownResourceCommands.StopCommand, cancellationToken);
            if (!result.Success)
            {
                LogStopRefused(service.Name, result.Message);
                return;
            }

            await notifications.WaitForResourceAsync(service.Name, StoppedStates, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            LogStopTookTooLong(service.Name, StopBudget.TotalSeconds);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped {Services} before the broker and the dashboard, in {Seconds:F1} s")]
    private partial void LogServicesStopped(string services, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not stop {Service} first: {Reason}")]
    private partial void LogStopRefused(string service, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Service} did not stop within {Seconds} s; the orchestrator stops it with the rest")]
    private partial void LogStopTookTooLong(string service, double seconds);
}
