using System.Diagnostics;
using System.Security.Cryptography;
using Confluent.Kafka;
using Ecommerce.Consumer.Orders;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// The events read since the last write, validated: valid orders, dead letters, and for each partition how far the
/// batch reaches. Flushed as a whole when it is full or old enough.
/// </summary>
public sealed class PendingBatch
{
    private readonly List<IncomingOrder> _orders = [];
    private readonly List<DeadLetter> _deadLetters = [];
    private readonly Dictionary<int, ConsumeResult<byte[]?, byte[]?>> _lastRecords = [];
    private readonly Dictionary<int, long> _firstOffsets = [];
    private readonly Dictionary<int, long> _storedElsewhere = [];
    private readonly List<ConsumeResult<byte[]?, byte[]?>> _orderRecords = []; // The record of each of _orders, in step.
    private Dictionary<(int Partition, long Offset), ConsumeResult<byte[]?, byte[]?>>? _recordsByPosition;

    public int Count { get; private set; }

    /// <summary>Bytes of the records' keys and values, to bound a batch's memory (<c>Ingestion:MaxBatchBytes</c>).</summary>
    public long Bytes { get; private set; }

    public bool IsEmpty => Count == 0;

    /// <summary>When the oldest event of the batch was read; the batch is due <c>MaxBatchDelay</c> later.</summary>
    public long StartedAt { get; private set; }

    private readonly HashSet<(int Partition, long Offset)> _deadLettered = [];

    /// <summary>The batch's valid orders, less those another writer has stored meanwhile (see <see cref="SkipStored"/>).</summary>
    public IReadOnlyList<IncomingOrder> Orders =>
        _storedElsewhere.Count == 0 ? _orders : _orders.Where(o => o.Source.Offset >= StoredNext(o.Source.Partition)).ToArray();

    public IReadOnlyList<DeadLetter> DeadLetters => _deadLetters;

    /// <summary>
    /// For each partition of the batch, where the batch starts, the next offset to read and the digest of the last
    /// record read; partitions another writer has stored entirely are left out.
    /// </summary>
    public IReadOnlyList<PartitionProgress> Progress() =>
        _lastRecords.Values
            .Where(r => r.Offset.Value + 1 > StoredNext(r.Partition.Value))
            .Select(r => new PartitionProgress(r.Topic, r.Partition.Value, r.Offset.Value + 1, RecordDigest(r))
            {
                FirstOffset = Math.Max(_firstOffsets[r.Partition.Value], StoredNext(r.Partition.Value)),
            })
            .ToArray();

    /// <summary>
    /// Another writer stored progress for some of the batch's partitions while this batch waited to be written (a
    /// consumer that lost the partitions and wrote late, or an earlier attempt of this very write that committed
    /// after all): the events before those resume points are in the warehouse already, and are left out.
    /// </summary>
    /// <returns>Whether any event was left out that was not before.</returns>
    public bool SkipStored(IEnumerable<StoredOffset> stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var changed = false;
        foreach (var offset in stored.Where(s => _firstOffsets.TryGetValue(s.Partition, out var first) && s.NextOffset > Math.Max(first, StoredNext(s.Partition))))
        {
            _storedElsewhere[offset.Partition] = offset.NextOffset;
            changed = true;
        }

        return changed;
    }

    /// <summary>The batch's orders (not yet left out) that a partition's stored resume point says are stored.</summary>
    public IEnumerable<IncomingOrder> OrdersBelow(StoredOffset stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        return Orders.Where(o => o.Source.Partition == stored.Partition && o.Source.Offset < stored.NextOffset);
    }

    /// <summary>Orders left out because another writer stored them (see <see cref="SkipStored"/>).</summary>
    public int SkippedOrders => _orders.Count - Orders.Count;

    private long StoredNext(int partition) => _storedElsewhere.GetValueOrDefault(partition, long.MinValue);

    /// <summary>Adds a validated record: its order to the batch's orders, or the record to its dead letters.</summary>
    public void Add(ValidatedRecord validated, long now)
    {
        ArgumentNullException.ThrowIfNull(validated);
        var record = validated.Record;
        if (Count == 0)
        {
            StartedAt = now;
        }

        Count++;
        Bytes += (record.Message.Key?.Length ?? 0) + (record.Message.Value?.Length ?? 0);
        _lastRecords[record.Partition.Value] = record;
        _firstOffsets.TryAdd(record.Partition.Value, record.Offset.Value);

        if (validated.Order is { } order)
        {
            _orders.Add(order);
            _orderRecords.Add(record);
            _recordsByPosition = null;
        }
        else
        {
            _deadLetters.Add(new DeadLetter(record, validated.Rejection!));
        }
    }

    /// <summary>
    /// Of <paramref name="refused"/>, those not yet acknowledged by the dead-letter topic. A retried write sends only
    /// these: the batch's invalid events once, and a conflict however late it is first seen (another writer may store
    /// the first version of an order between two attempts).
    /// </summary>
    public IReadOnlyList<DeadLetter> NotYetDeadLettered(IEnumerable<DeadLetter> refused) =>
        refused.Where(d => !_deadLettered.Contains((d.Record.Partition.Value, d.Record.Offset.Value))).ToArray();

    /// <summary>Records that the dead-letter topic acknowledged these.</summary>
    public void MarkDeadLettered(IEnumerable<DeadLetter> sent)
    {
        foreach (var deadLetter in sent)
        {
            _deadLettered.Add((deadLetter.Record.Partition.Value, deadLetter.Record.Offset.Value));
        }
    }

    /// <summary>The original record of an order of this batch (to dead-letter it as a conflict, or to land it).</summary>
    public ConsumeResult<byte[]?, byte[]?> RecordOf(IncomingOrder order)
    {
        ArgumentNullException.ThrowIfNull(order);

        // Indexed only when first asked (most batches have no conflict): a dictionary of every order of a batch, made
        // batch after batch, was large enough to go to the large object heap.
        if (_recordsByPosition is null)
        {
            _recordsByPosition = new(_orderRecords.Count);
            foreach (var record in _orderRecords)
            {
                _recordsByPosition[(record.Partition.Value, record.Offset.Value)] = record; // A record read twice: the later.
            }
        }

        return _recordsByPosition[(order.Source.Partition, order.Source.Offset)];
    }

    /// <summary>
    /// The most producer spans a batch span links to. The OTLP exporter sends at most 128 links per span unless
    /// OTEL_SPAN_LINK_COUNT_LIMIT says otherwise (OpenTelemetry .NET, SdkLimitOptions), so more were built and kept
    /// for nothing: a batch of 5,000 orders made 5,000 links.
    /// </summary>
    public static int MaxProducerLinks { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("OTEL_SPAN_LINK_COUNT_LIMIT"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var limit) ? limit : 128;

    /// <summary>Links to the producer spans of the batch's first orders (at most <see cref="MaxProducerLinks"/>).</summary>
    public IEnumerable<ActivityLink> ProducerLinks() =>
        _orders.Where(o => o.ProducerContext != default).Take(MaxProducerLinks).Select(o => new ActivityLink(o.ProducerContext));

    /// <summary>
    /// Identifies a record by content, so that a resume point can be checked later: if the record just before it
    /// is no longer the same, the offsets now belong to another history (a reset or replaced cluster).
    /// </summary>
    public static string RecordDigest(ConsumeResult<byte[]?, byte[]?> record) =>
        RecordDigest(record.Message.Key, record.Message.Value);

    public static string RecordDigest(byte[]? key, byte[]? value)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(BitConverter.GetBytes(key?.Length ?? -1));
        hash.AppendData(key ?? []);
        hash.AppendData(BitConverter.GetBytes(value?.Length ?? -1));
        hash.AppendData(value ?? []);
        return Convert.ToHexStringLower(hash.GetHashAndReset().AsSpan(0, 16));
    }
}
