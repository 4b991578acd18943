using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// A batch being written, started by <see cref="BatchWriter.Start"/>: its outcome, the moment a next batch may be planned
/// on top of it, and the means to abandon it.
/// </summary>
public sealed class BatchWrite : IDisposable
{
    private readonly CancellationTokenSource _abandon = new();
    private readonly TaskCompletionSource<BatchPlan> _transaction = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task<IReadOnlyList<PartitionProgress>?>? _completion;
    private Task? _followable;

    /// <summary>
    /// The partitions' new offsets once the batch is stored, or null when it was abandoned: its events are then read
    /// again by whoever owns the partitions next.
    /// </summary>
    public Task<IReadOnlyList<PartitionProgress>?> Completion
    {
        get => _completion ?? throw new InvalidOperationException("The write has not been started.");
        internal set
        {
            _completion = value;
            _followable = Task.WhenAny(_transaction.Task, value);
        }
    }

    /// <summary>
    /// Done once a next batch may be planned on top of this one: its plan is final and its transaction is about to run,
    /// or the write has ended.
    /// </summary>
    public Task Followable => _followable ?? throw new InvalidOperationException("The write has not been started.");

    /// <summary>The plan of the attempt whose transaction ran first (set once).</summary>
    internal Task<BatchPlan> TransactionStarting => _transaction.Task;

    /// <summary>When (<see cref="TimeProvider.GetTimestamp"/>) that first transaction started; 0 before.</summary>
    internal long TransactionStartedAt { get; private set; }

    /// <summary>The plan the batch was stored with, once it was.</summary>
    internal BatchPlan? Stored { get; set; }

    /// <summary>Whether it was stored by the transaction prepared beside the write before it (not planned again).</summary>
    public bool StoredAsPreparedBeside { get; internal set; }

    /// <summary>The timings of the worker that started it, which it adds to.</summary>
    internal PipelineTimings Timings { get; init; } = new();

    /// <summary>Cancelled when the write is abandoned: it stops retrying.</summary>
    internal CancellationToken Abandoned => _abandon.Token;

    internal void StartingTransaction(BatchPlan plan, long now)
    {
        if (TransactionStartedAt == 0)
        {
            TransactionStartedAt = now;
        }

        _transaction.TrySetResult(plan);
    }

    /// <summary>Stops retrying (an attempt already sent may still commit): the batch is read again later.</summary>
    public void AbandonNow() => _abandon.Cancel();

    /// <summary>Abandons the write unless it ends within <paramref name="limit"/>.</summary>
    public void AbandonAfter(TimeSpan limit) => _abandon.CancelAfter(limit);

    public void Dispose() => _abandon.Dispose();
}
