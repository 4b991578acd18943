using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// Loads what the warehouse keeps in memory for writing (DuckDB: the ids of the stored orders, about 10 s at 30 M orders
/// when no copy saved beside the file describes it) in the background once the service has started, so that it overlaps
/// the Kafka clients' joining their group and first fetches instead of following them. It waits for every hosted
/// service's start, the workers' included, which apply the schema (a script makes DuckDB's provider forget the loaded
/// ids), and a stop cancels it.
/// </summary>
public sealed partial class WarehouseWarmUp(StarSchemaWriter writer, IHostApplicationLifetime lifetime, ILogger<WarehouseWarmUp> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => _ = Task.Run(WarmUpAsync, CancellationToken.None));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await _stopping.CancelAsync();

    /// <summary>Completes when the warm-up has ended, whether it loaded anything or not.</summary>
    internal Task Ended => _ended.Task;

    public void Dispose() => _stopping.Dispose();

    private async Task WarmUpAsync()
    {
        try
        {
            await writer.WarmUpAsync(_stopping.Token);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopped first; nothing was kept.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogNotWarmedUp(logger, ex.Message); // The first batch loads it instead, and reports its own failure.
        }
        finally
        {
            _ended.TrySetResult();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The warehouse's in-memory state was not loaded ahead of the first batch, which loads it instead: {Reason}")]
    private static partial void LogNotWarmedUp(ILogger logger, string reason);
}
