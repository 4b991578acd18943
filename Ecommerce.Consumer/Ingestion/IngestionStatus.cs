namespace Ecommerce.Consumer.Ingestion;

/// <summary>Progress of one partition: where ingestion has committed to, and how far behind the broker it is.</summary>
public sealed record PartitionStatus(string Topic, int Partition, long? CommittedOffset, long? HighWatermark)
{
    public long? Lag => CommittedOffset is { } committed && HighWatermark is { } high ? Math.Max(0, high - committed) : null;
}

/// <summary>Running totals and state of the ingestion service, served by <c>/api/ingestion/status</c>.</summary>
public sealed class IngestionStatus
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, PartitionStatus> _partitions = [];
    private long _received, _ingested, _duplicates, _conflicts, _deadLettered, _batches;
    private string? _degradedReason;
    private string? _failure;
    private DateTimeOffset? _lastBatchAt;

    public long Ingested => Interlocked.Read(ref _ingested);
    public long Duplicates => Interlocked.Read(ref _duplicates);
    public long Conflicts => Interlocked.Read(ref _conflicts);
    public long DeadLettered => Interlocked.Read(ref _deadLettered);
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Set while the warehouse refuses writes and the batch is being retried.</summary>
    public string? DegradedReason => Volatile.Read(ref _degradedReason);

    /// <summary>Set when ingestion stopped for good (the process should be restarted).</summary>
    public string? Failure => Volatile.Read(ref _failure);

    public IReadOnlyList<PartitionStatus> Partitions
    {
        get
        {
            lock (_lock)
            {
                return _partitions.Values.OrderBy(p => p.Partition).ToArray();
            }
        }
    }

    public void RecordBatch(int received, int ingested, int duplicates, int conflicts, int deadLettered, DateTimeOffset at)
    {
        Interlocked.Add(ref _received, received);
        Interlocked.Add(ref _ingested, ingested);
        Interlocked.Add(ref _duplicates, duplicates);
        Interlocked.Add(ref _conflicts, conflicts);
        Interlocked.Add(ref _deadLettered, deadLettered);
        Interlocked.Increment(ref _batches);
        lock (_lock)
        {
            _lastBatchAt = at;
        }
    }

    public void SetPartition(PartitionStatus partition)
    {
        lock (_lock)
        {
            _partitions[partition.Partition] = partition;
        }
    }

    public void RemovePartitions(IEnumerable<int> partitions)
    {
        lock (_lock)
        {
            foreach (var partition in partitions)
            {
                _partitions.Remove(partition);
            }
        }
    }

    public void SetDegraded(string? reason) => Volatile.Write(ref _degradedReason, reason);

    public void SetFailed(string reason) => Volatile.Write(ref _failure, reason);

    public object Snapshot()
    {
        lock (_lock)
        {
            return new
            {
                received = Interlocked.Read(ref _received),
                ingested = Ingested,
                duplicates = Duplicates,
                conflicts = Conflicts,
                deadLettered = DeadLettered,
                batches = Batches,
                lastBatchAt = _lastBatchAt,
                state = Failure is not null ? "failed" : DegradedReason is not null ? "degraded" : "running",
                reason = Failure ?? DegradedReason,
                partitions = _partitions.Values.OrderBy(p => p.Partition).Select(p => new
                {
                    topic = p.Topic,
                    partition = p.Partition,
                    committedOffset = p.CommittedOffset,
                    highWatermark = p.HighWatermark,
                    lag = p.Lag,
                }).ToArray(),
            };
        }
    }
}
