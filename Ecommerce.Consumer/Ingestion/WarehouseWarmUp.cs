using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// Loads what the warehouse keeps in memory for writing (DuckDB: the ids of the stored orders, about 10 s at 30 M orders
/// when no copy saved beside the file describes it) as soon as the service has started, in the background, so that it
/// overlaps the Kafka clients' joining their group and first fetches instead of following them. Registered after the
/// workers, whose starts apply the schema (a script makes DuckDB's provider forget the loaded ids).
/// </summary>
public sealed partial class WarehouseWarmUp(StarSchemaWriter writer, ILogger<WarehouseWarmUp> logger) : IHostedService
{
    private Task _warmingUp = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _warmingUp = Task.Run(WarmUpAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Not waited for: the provider's disposal waits for the write lock the load holds.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Completes when the warm-up has ended, whether it loaded anything or not (tests wait for it).</summary>
    internal Task WarmingUp => _warmingUp;

    private async Task WarmUpAsync()
    {
        try
        {
            await writer.WarmUpAsync(CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogNotWarmedUp(logger, ex.Message); // The first batch loads it instead, and reports its own failure.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The warehouse's in-memory state was not loaded ahead of the first batch, which loads it instead: {Reason}")]
    private static partial void LogNotWarmedUp(ILogger logger, string reason);
}
