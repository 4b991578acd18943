using Ecommerce.Consumer.Warehouse;
using Microsoft.Extensions.Options;

namespace Ecommerce.Consumer.Ingestion.Landing;

/// <summary>
/// Runs <see cref="LandedOrderModeller"/> in every ingestion process of the Landed write path, while this process
/// holds the modelling lease: at once again after a cycle that found work, after <c>Ingestion:ModelPollInterval</c>
/// after one that found none. A failed cycle is retried with backoff, as a failed batch is; a refused one (another
/// transaction got there first) at once.
/// <para>
/// Pipelined: while a cycle's transaction runs, the next cycle is read, planned and staged on top of it, and run once
/// it has committed; a cycle costs the longer of the two instead of their sum. If the running one fails, the next is
/// discarded and planned again from what the warehouse holds.
/// </para>
/// <para>
/// Beside a small cycle, the next one is read as late as it can be and still be ready when the running transaction
/// ends (see <see cref="PrepareBesideAsync"/>), so that it takes in what lands meanwhile: an order then waits for
/// one transaction after it is read instead of about two, and the first cycles of a backlog that lands at once are
/// fuller.
/// </para>
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

    /// <summary>
    /// How many times the last preparation's time is left for preparing the next cycle before the running transaction
    /// is expected to end: the slack for a preparation that takes longer than the last one (more rows landed).
    /// </summary>
    private const double PrepareHeadroom = 1.5;

    private readonly IngestionOptions _options = options.Value;
    private ModelLease? _lease;
    private TimeSpan _lastWrite;
    private TimeSpan _lastPrepare;
    private DateTimeOffset _nextPrune = DateTimeOffset.MinValue;

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
                    var modelled = await ModelWhileThereIsWorkAsync(stoppingToken);
                    status.SetWriteFailure(null);
                    await PruneWhenDueAsync(stoppingToken);
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

    /// <summary>
    /// Every this many cycles in a row, the next one is not prepared beside the running one but read afresh after it
    /// commits. A cycle prepared beside another reads only rows after that one's last row in each partition, so a row
    /// that becomes readable below it (a redelivery whose landing became whole late) waits for a fresh read: at most
    /// this many cycles, even while orders never stop arriving.
    /// </summary>
    internal const int FreshReadEvery = 8;

    /// <summary>
    /// Cycles back to back, each next one prepared while the one before it commits, until one finds nothing waiting or
    /// the lease is lost. Returns how many landed rows the last cycle took (0: nothing was waiting).
    /// </summary>
    private async Task<int> ModelWhileThereIsWorkAsync(CancellationToken stoppingToken)
    {
        var cycle = await PrepareAsync(null, stoppingToken);
        for (var streak = 1; cycle is not null; streak++)
        {
            using var writeFailed = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var writing = WriteAsync(cycle, stoppingToken);
            var preparing = streak % FreshReadEvery == 0 ? Task.FromResult<ModellingCycle?>(null) : PrepareBesideAsync(cycle, writing, writeFailed.Token);
            try
            {
                await writing;
            }
            catch
            {
                // Planned on top of a transaction that did not commit (or may not have): let it go.
                await writeFailed.CancelAsync();
                await DiscardAsync(preparing);
                throw;
            }

            status.SetWriteFailure(null);
            await PruneWhenDueAsync(stoppingToken); // Before the next cycle's transaction: both take LANDED_OUTCOMES' lock.
            ModellingCycle? next;
            try
            {
                next = await preparing;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // Prepared anew below, from what the warehouse holds now.
                LogPrepareFailed(ex.Message);
                next = null;
            }

            if (_lease is null || !_lease.IsHeld)
            {
                next?.Discard();
                return cycle.Count;
            }

            cycle = next ?? await PrepareAsync(null, stoppingToken);
        }

        return 0;
    }

    /// <summary>
    /// Prepares the next cycle beside the running one, starting when about <see cref="PrepareHeadroom"/> times the last
    /// preparation's time is left of the running transaction, expected to take as long as the last one did, or when
    /// that transaction ends, if sooner. It starts at once without both figures, beside a full cycle (<see
    /// cref="IngestionOptions.MaxModelledPerCycle"/>: more is likely waiting, and the next one fills up anyway), or when
    /// preparing takes longer than writing. Reading late takes in what lands meanwhile: fewer, larger cycles (a
    /// transaction costs about the same for any size), and fewer straggler cycles at the end of a burst. It is safe while
    /// a preparation takes well under the transaction beside it (about half, with claims staged as ranges); when it took
    /// longer, reading late left the tables' locks idle (docs/write-path.md, point 4 of what would lift the Landed path).
    /// </summary>
    private async Task<ModellingCycle?> PrepareBesideAsync(ModellingCycle running, Task writing, CancellationToken cancellationToken)
    {
        var wait = _lastWrite - _lastPrepare * PrepareHeadroom;
        // A positive wait implies a timed write; a preparation not yet timed would make it the whole write.
        if (running.Count < _options.MaxModelledPerCycle && _lastPrepare > TimeSpan.Zero && wait > TimeSpan.Zero)
        {
            // A failed write cancels the token; a finished one (a shorter transaction than the last) ends the wait.
            await Task.WhenAny(Task.Delay(wait, time, cancellationToken), writing);
            cancellationToken.ThrowIfCancellationRequested();
        }

        return await PrepareAsync(running, cancellationToken);
    }

    private async Task<ModellingCycle?> PrepareAsync(ModellingCycle? running, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var cycle = await modeller.PrepareAsync(running, cancellationToken);
        if (cycle is not null)
        {
            _lastPrepare = time.GetElapsedTime(started); // Only a read that found work plans and stages.
        }

        return cycle;
    }

    private async Task WriteAsync(ModellingCycle cycle, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        await modeller.WriteAsync(cycle, cancellationToken);
        _lastWrite = time.GetElapsedTime(started);
    }

    /// <summary>
    /// With <c>Ingestion:LandedRetention</c> set, deletes the landed orders (and their outcomes) modelled longer ago
    /// than that, every quarter of it and at least hourly, between cycles, while this process holds the lease. A failure
    /// is logged and tried again next time: pruning is housekeeping, and modelling goes on without it. Never throws.
    /// </summary>
    private async Task PruneWhenDueAsync(CancellationToken cancellationToken)
    {
        var retention = _options.LandedRetention;
        var now = time.GetUtcNow();
        if (retention <= TimeSpan.Zero || now < _nextPrune || _lease is not { IsHeld: true } || cancellationToken.IsCancellationRequested)
        {
            return;
        }

        _nextPrune = now + TimeSpan.FromTicks(Math.Min(retention.Ticks / 4, TimeSpan.FromHours(1).Ticks));
        try
        {
            await modeller.PruneAsync((now - retention).UtcDateTime, cancellationToken);
            LogPruned(retention);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: the caller sees the cancellation at its next step, and lets go of what it prepared.
        }
        catch (Exception ex)
        {
            LogPruneFailed(ex.Message);
        }
    }

    private static async Task DiscardAsync(Task<ModellingCycle?> preparing)
    {
        try
        {
            (await preparing)?.Discard();
        }
        catch
        {
            // It failed by itself; nothing to let go.
        }
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Preparing the next modelling cycle beside the running one failed ({Reason}); preparing it again")]
    private partial void LogPrepareFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A modelling cycle failed; retrying in {Seconds:F1} s")]
    private partial void LogFailed(Exception exception, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted the landed orders modelled more than {Retention} ago (Ingestion:LandedRetention)")]
    private partial void LogPruned(TimeSpan retention);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleting the landed orders past Ingestion:LandedRetention failed ({Reason}); trying again later")]
    private partial void LogPruneFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The modelling lease could not be given up ({Reason}); it expires by itself")]
    private partial void LogReleaseFailed(string reason);
}
