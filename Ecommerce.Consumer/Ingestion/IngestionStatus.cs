using System.Text.Json;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>Running totals and state of the ingestion service, served by <c>/api/ingestion/status</c>.</summary>
public sealed class IngestionStatus
{
    /// <summary>How long a gap keeps the service Degraded after it was found: long enough for any health poll to see it.</summary>
    public static readonly TimeSpan GapAlertPeriod = TimeSpan.FromHours(1);

    private const int GapsKept = 100;

    private readonly Lock _lock = new();
    private readonly Dictionary<int, PartitionStatus> _partitions = [];
    private readonly Queue<UpstreamGap> _gaps = new();
    private long _received, _ingested, _duplicates, _conflicts, _deadLettered, _batches, _lostUpstream, _landed, _modelled;
    private Problem? _writeFailure;
    private Problem? _failure;
    private DateTimeOffset? _lastBatchAt;

    /// <summary>Whether error texts are shown (on <c>/health</c> and the status endpoint); off in Production.</summary>
    public bool ShowErrorDetails { get; init; } = true;

    public long Ingested => Interlocked.Read(ref _ingested);
    public long Duplicates => Interlocked.Read(ref _duplicates);
    public long Conflicts => Interlocked.Read(ref _conflicts);
    public long DeadLettered => Interlocked.Read(ref _deadLettered);
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Set while the warehouse refuses writes and the batch is being retried.</summary>
    public Problem? WriteFailure => Volatile.Read(ref _writeFailure);

    /// <summary>Set when ingestion stopped for good (the process should be restarted).</summary>
    public Problem? Failure => Volatile.Read(ref _failure);

    /// <summary>Events lost upstream since the service started.</summary>
    public long LostUpstream => Interlocked.Read(ref _lostUpstream);

    public IReadOnlyList<UpstreamGap> Gaps
    {
        get
        {
            lock (_lock)
            {
                return _gaps.ToArray();
            }
        }
    }

    /// <summary>The latest gap, if it was found within <see cref="GapAlertPeriod"/> of <paramref name="now"/>.</summary>
    public UpstreamGap? RecentGap(DateTimeOffset now)
    {
        lock (_lock)
        {
            return _gaps.LastOrDefault() is { } gap && now - gap.ReportedAt < GapAlertPeriod ? gap : null;
        }
    }

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
        // Under the lock the snapshot takes, so a status read sees a batch's counts all or not at all (received
        // always equals the sum of the outcomes); the Interlocked writes keep the lock-free single-value reads whole.
        lock (_lock)
        {
            Interlocked.Add(ref _received, received);
            Interlocked.Add(ref _ingested, ingested);
            Interlocked.Add(ref _duplicates, duplicates);
            Interlocked.Add(ref _conflicts, conflicts);
            Interlocked.Add(ref _deadLettered, deadLettered);
            Interlocked.Increment(ref _batches);
            _lastBatchAt = at;
        }
    }

    /// <summary>
    /// A batch landed (Ingestion:WritePath = Landed): its invalid events dead-lettered, its orders appended to the
    /// landing layer. What the orders are (new, duplicates, conflicts) is counted when they are modelled, by whichever
    /// process models (<see cref="RecordModelled"/>): until then they count only as <c>landed</c>.
    /// </summary>
    public void RecordLanding(int received, int landed, int deadLettered, DateTimeOffset at)
    {
        lock (_lock)
        {
            Interlocked.Add(ref _received, received);
            Interlocked.Add(ref _landed, landed);
            Interlocked.Add(ref _deadLettered, deadLettered);
            Interlocked.Increment(ref _batches);
            _lastBatchAt = at;
        }
    }

    /// <summary>A modelling transaction of this process committed: the landed orders it took, by outcome.</summary>
    public void RecordModelled(int ingested, int duplicates, int conflicts)
    {
        lock (_lock)
        {
            Interlocked.Add(ref _modelled, ingested + duplicates + conflicts);
            Interlocked.Add(ref _ingested, ingested);
            Interlocked.Add(ref _duplicates, duplicates);
            Interlocked.Add(ref _conflicts, conflicts);
            Interlocked.Add(ref _deadLettered, conflicts);
        }
    }

    /// <summary>Orders this process landed (Landed write path).</summary>
    public long Landed => Interlocked.Read(ref _landed);

    /// <summary>Landed orders (of any process) this process modelled.</summary>
    public long Modelled => Interlocked.Read(ref _modelled);

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

    /// <summary>A warehouse write failed and is being retried (null: writes succeed again).</summary>
    public void SetWriteFailure(Exception? error) => Volatile.Write(ref _writeFailure,
        error is null ? null : new Problem($"warehouse_write_failed.{error.GetType().Name}", "warehouse writes are failing and being retried", error.Message));

    public void SetFailed(Exception error) =>
        Volatile.Write(ref _failure, new Problem($"ingestion_stopped.{error.GetType().Name}", "ingestion stopped on an unexpected error", error.Message));

    public void RecordGap(UpstreamGap gap)
    {
        lock (_lock)
        {
            Interlocked.Add(ref _lostUpstream, gap.Lost);
            _gaps.Enqueue(gap);
            while (_gaps.Count > GapsKept)
            {
                _gaps.Dequeue();
            }
        }
    }

    /// <summary>The state in a word and its reason: failed, degraded (writes failing, or a recent gap) or running.</summary>
    public (string State, string? Reason) State(DateTimeOffset now)
    {
        if (Failure is { } failure)
        {
            return ("failed", failure.Describe(ShowErrorDetails));
        }

        if (WriteFailure is { } writes)
        {
            return ("degraded", writes.Describe(ShowErrorDetails));
        }

        return RecentGap(now) is { } gap
            ? ("degraded", $"{gap.Lost} events of {gap.Topic}[{gap.Partition}] (offsets {gap.From} to {gap.To - 1}) were deleted upstream before they could be read")
            : ("running", null);
    }

    public object Snapshot(DateTimeOffset now)
    {
        lock (_lock)
        {
            // Inside the lock (it is re-entrant; the state reads the gaps under it too), so the state and the totals
            // and gaps beside it are of one moment.
            var (state, reason) = State(now);
            return new
            {
                received = Interlocked.Read(ref _received),
                ingested = Ingested,
                duplicates = Duplicates,
                conflicts = Conflicts,
                deadLettered = DeadLettered,
                batches = Batches,
                landed = Landed,
                modelled = Modelled,
                // Bytes the whole process has allocated since it started: with the counts above, what an order costs the GC.
                allocatedBytes = GC.GetTotalAllocatedBytes(),
                // CPU seconds spent in each stage since the process started (CpuByStage, 64-bit Linux only; null elsewhere).
                cpuSecondsByStage = CpuByStage.IsSupported
                    ? CpuByStage.Seconds().ToDictionary(s => JsonNamingPolicy.CamelCase.ConvertName(s.Key.ToString()), s => s.Value)
                    : null,
                lastBatchAt = _lastBatchAt,
                state,
                reason,
                lostUpstream = LostUpstream,
                gaps = _gaps.Select(g => new { topic = g.Topic, partition = g.Partition, fromOffset = g.From, toOffset = g.To, lost = g.Lost, reportedAt = g.ReportedAt }).ToArray(),
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
