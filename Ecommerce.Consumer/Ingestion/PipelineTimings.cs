namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// How long one worker's last batch preparation (its reads, plan and staging, beside a running transaction or, for a
/// batch written by itself, with its dead letters too) and its last transaction took: what
/// <see cref="BatchWriter.IsTimeToFollow"/> cuts the next batch by. One per worker, since each has its own batches
/// (several workers in a process share the <see cref="BatchWriter"/>).
/// </summary>
public sealed class PipelineTimings
{
    private long _transactionTicks;
    private long _preparationTicks;

    /// <summary>The last prepared transaction's time, from its start to its commit; zero until one ran.</summary>
    public TimeSpan LastTransaction
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _transactionTicks));
        internal set => Interlocked.Exchange(ref _transactionTicks, value.Ticks);
    }

    /// <summary>The last preparation's time: the reads, the plan and the staging; zero until one was made.</summary>
    public TimeSpan LastPreparation
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _preparationTicks));
        internal set => Interlocked.Exchange(ref _preparationTicks, value.Ticks);
    }
}
