using Ecommerce.Consumer.Warehouse;
using Microsoft.Extensions.Options;

namespace Ecommerce.Consumer.Ingestion.Landing;

/// <summary>
/// Runs <see cref="LandedOrderModeller"/> in every ingestion process of the Landed write path, while this process
/// holds the modelling lease: at once again after a cycle that found work, after <c>Ingestion:ModelPollInterval</c>
/// after one that found none. A failed cycle is retried with backoff, as a failed batch is; a refused one (another
/// transaction got there first) at once.
/// </summary>
public sealed partial class ModellingService(
    LandedOrderModeller modeller,
    IWarehouseProvider warehouse,
    IngestionStatus status,
    IOptions<IngestionOptions> options,
    TimeProvider time,
    ILogger<ModellingService> logger) : BackgroundService
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(15);

    private readonly IngestionOptions _options = options.Value;
    private ModelLease? _lease;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _lease = new ModelLease(warehouse, time, _options.ModelLeaseDuration);
        var renewing = _lease.RenewWhileHeldAsync(stoppingToken);
        var delay = FirstRetryDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan pause;
            try
            {
                if (!await _lease.HoldAsync(stoppingToken))
                {
                    pause = _options.ModelLeaseDuration / 4;
                }
                else
                {
                    var modelled = await modeller.ModelOnceAsync(stoppingToken);
                    status.SetWriteFailure(null);
                    delay = FirstRetryDelay;
                    pause = modelled > 0 ? TimeSpan.Zero : _options.ModelPollInterval;
                }
            }
            catch (StaleReadException ex)
            {
                LogRefused(ex.Message);
                pause = TimeSpan.FromMilliseconds(Random.Shared.Next(1, 50));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                status.SetWriteFailure(ex);
                LogFailed(ex, delay.TotalSeconds);
                pause = delay;
                delay = TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, delay.TotalMilliseconds * 2));
            }

            if (pause > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(pause, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        await renewing;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            if (_lease is not null)
            {
                await _lease.ReleaseAsync(cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // It expires.
            LogReleaseFailed(ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "A modelling cycle was refused: {Reason}; reading again")]
    private partial void LogRefused(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A modelling cycle failed; retrying in {Seconds:F1} s")]
    private partial void LogFailed(Exception exception, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The modelling lease could not be given up ({Reason}); it expires by itself")]
    private partial void LogReleaseFailed(string reason);
}
