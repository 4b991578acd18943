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
    /// <summary>
    /// How long a service may take to stop: the ingestion service may spend up to 30 s (its host's shutdown timeout)
    /// finishing a write into a slow warehouse. The AppHost's own shutdown timeout can end the wait sooner.
    /// </summary>
    internal static readonly TimeSpan StopBudget = TimeSpan.FromSeconds(35);

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
        var stopped = await Task.WhenAll(services.Select(service => StopAsync(service, cancellationToken, budget.Token)));
        var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
        if (stopped.All(s => s))
        {
            LogServicesStopped(string.Join(", ", services.Select(s => s.Name)), seconds);
        }
        else
        {
            LogSomeServicesNotStopped(string.Join(", ", services.Where((_, i) => !stopped[i]).Select(s => s.Name)), seconds);
        }
    }

    private bool IsRunning(ProjectResource service) =>
        notifications.TryGetCurrentState(service.Name, out var evt) && evt.Snapshot.State?.Text == KnownResourceStates.Running;

    /// <summary>Stops one service and waits for it; never throws, since the rest of the shutdown must go on.</summary>
    private async Task<bool> StopAsync(ProjectResource service, CancellationToken shutdown, CancellationToken budget)
    {
        try
        {
            var result = await commands.ExecuteCommandAsync(service, KnownResourceCommands.StopCommand, budget);
            if (!result.Success)
            {
                LogStopRefused(service.Name, result.Message);
                return false;
            }

            await notifications.WaitForResourceAsync(service.Name, StoppedStates, budget);
            return true;
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            if (shutdown.IsCancellationRequested)
            {
                LogShutdownTimedOut(service.Name);
            }
            else
            {
                LogStopTookTooLong(service.Name, StopBudget.TotalSeconds);
            }

            return false;
        }
        catch (Exception ex)
        {
            LogStopFailed(ex, service.Name);
            return false;
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped {Services} before the broker and the dashboard, in {Seconds:F1} s")]
    private partial void LogServicesStopped(string services, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Services} had not stopped after {Seconds:F1} s; the orchestrator stops them with the rest")]
    private partial void LogSomeServicesNotStopped(string services, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not stop {Service} first: {Reason}")]
    private partial void LogStopRefused(string service, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Service} did not stop within {Seconds} s")]
    private partial void LogStopTookTooLong(string service, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The AppHost's shutdown timeout ended the wait for {Service} to stop")]
    private partial void LogShutdownTimedOut(string service);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping {Service} first failed")]
    private partial void LogStopFailed(Exception exception, string service);
}
