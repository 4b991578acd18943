namespace Ecommerce.Consumer.Warehouse;

/// <summary>One version of a customer: a row of DIM_CUSTOMER.</summary>
/// <param name="LastSeenAt">The time of the latest order inside the version.</param>
/// <param name="OrderCount">How many orders point at the version. Every stored order adds one to some version, so a
/// history whose rows are unchanged has had no order added since it was read.</param>
public sealed record CustomerVersion(
    long Sk, string CustomerId, string Name, string Region, DateTime ValidFrom, DateTime? ValidTo, DateTime LastSeenAt, long OrderCount)
{
    public bool IsCurrent => ValidTo is null;

    /// <summary>Whether an order at <paramref name="instant"/> falls among this version's orders (not after the last).</summary>
    public bool SpansOrderAt(DateTime instant) => ValidFrom <= instant && instant <= LastSeenAt;
}

/// <summary>An order as evidence of what its customer was called and where they were at the order's time.</summary>
public readonly record struct CustomerObservation(string OrderId, DateTime Timestamp, string Name, string Region);

/// <summary>A stored order of a customer, with the version it points at.</summary>
public readonly record struct StoredCustomerOrder(string OrderId, DateTime Timestamp, long Sk);

/// <summary>How a batch changes one customer's history.</summary>
/// <param name="Versions">The complete new history, oldest first.</param>
/// <param name="Changed">New versions, and stored ones whose interval, last order or count changed.</param>
/// <param name="Retired">Surrogate keys of stored versions that no longer exist.</param>
/// <param name="NewOrderVersions">For each new order id, the surrogate key of the version valid at its time.</param>
/// <param name="StoredOrdersMove">Whether some stored order now belongs to another version than the one it points at.</param>
public sealed record CustomerHistoryChange(
    IReadOnlyList<CustomerVersion> Versions,
    IReadOnlyList<CustomerVersion> Changed,
    IReadOnlyList<long> Retired,
    IReadOnlyDictionary<string, long> NewOrderVersions,
    bool StoredOrdersMove);

/// <summary>
/// Type-2 history of a customer as a pure function of their orders. Sort the orders by time; the customer's
/// name and region at an instant are those of the order at that instant (if several orders share the instant, the
/// one with the smallest order id speaks for it); a version is a maximal run of consecutive instants with the same
/// name and region, valid from its first order until the next version's first order. The result is the same
/// whatever order the events arrive in, however they are batched, and whoever writes them.
/// <para>
/// A batch does not need every order of the customer: a stored version none of whose orders lies at or between the
/// times of the batch's orders is a block that can only grow or merge whole, so only the orders of versions the
/// batch's orders fall into ("opened", <see cref="VersionsToOpen"/>) are read back.
/// </para>
/// </summary>
public static class CustomerHistory
{
    /// <summary>
    /// The stored versions whose orders must be read to place the new orders: those with a new order at or
    /// between their first and last order (a new order elsewhere only extends, starts or merges versions).
    /// </summary>
    public static IEnumerable<CustomerVersion> VersionsToOpen(IReadOnlyList<CustomerVersion> stored, IEnumerable<DateTime> newOrderTimes)
    {
        var times = newOrderTimes.Order().ToArray();
        foreach (var version in stored)
        {
            var next = Array.BinarySearch(times, version.ValidFrom);
            var index = next >= 0 ? next : ~next;
            if (index < times.Length && times[index] <= version.LastSeenAt)
            {
                yield return version;
            }
        }
    }

    /// <summary>
    /// Rebuilds the history of one customer from what is stored and the batch's new orders.
    /// <paramref name="openedOrders"/> must hold every stored order of the versions <see cref="VersionsToOpen"/>
    /// named, and may hold no other.
    /// </summary>
    public static CustomerHistoryChange Rebuild(
        string customerId,
        IReadOnlyList<CustomerVersion> stored,
        IReadOnlyCollection<StoredCustomerOrder> openedOrders,
        IReadOnlyCollection<CustomerObservation> newOrders)
    {
        var storedBySk = stored.ToDictionary(v => v.Sk);
        var opened = openedOrders.Select(o => o.Sk).ToHashSet();

        // Everything known about the customer, as pieces in time: whole stored versions that were not opened, and
        // single instants (stored orders of opened versions, and the new orders) with the order that speaks for each.
        var pieces = new List<Piece>();
        foreach (var version in stored.Where(v => !opened.Contains(v.Sk)))
        {
            pieces.Add(new Piece(version.ValidFrom, version.LastSeenAt, version.Name, version.Region, version.OrderCount) { Block = version });
        }

        var instants = openedOrders
            .Select(o => (o.OrderId, o.Timestamp, storedBySk[o.Sk].Name, storedBySk[o.Sk].Region, Stored: (StoredCustomerOrder?)o))
            .Concat(newOrders.Select(o => (o.OrderId, o.Timestamp, o.Name, o.Region, Stored: (StoredCustomerOrder?)null)))
            .GroupBy(o => o.Timestamp);
        foreach (var instant in instants)
        {
            var speaker = instant.MinBy(o => o.OrderId, StringComparer.Ordinal);
            pieces.Add(new Piece(instant.Key, instant.Key, speaker.Name, speaker.Region, instant.Count())
            {
                StoredOrders = instant.Where(o => o.Stored is not null).Select(o => o.Stored!.Value).ToArray(),
                NewOrderIds = instant.Where(o => o.Stored is null).Select(o => o.OrderId).ToArray(),
            });
        }

        // Blocks first at an equal start: only inconsistent stored data (a block overlapping an opened version) has one.
        pieces.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : (b.Block is null ? 0 : 1).CompareTo(a.Block is null ? 0 : 1));

        var runs = new List<Run>();
        foreach (var piece in pieces)
        {
            var run = runs.Count > 0 ? runs[^1] : null;
            if (run is null || !string.Equals(run.Name, piece.Name, StringComparison.Ordinal) || !string.Equals(run.Region, piece.Region, StringComparison.Ordinal))
            {
                run = new Run(piece.Start, piece.Name, piece.Region);
                runs.Add(run);
            }

            run.LastSeenAt = piece.End > run.LastSeenAt ? piece.End : run.LastSeenAt;
            run.OrderCount += piece.Weight;
            run.Pieces.Add(piece);
        }

        // A run keeps the key of the stored version it coincides with (same start, name and region): its orders then
        // need no re-pointing. Otherwise the key is derived from what the version is, so two writers agree on it.
        var byIdentity = stored.ToDictionary(v => (v.ValidFrom, v.Name, v.Region));
        var versions = new List<CustomerVersion>(runs.Count);
        for (var i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            var sk = byIdentity.TryGetValue((run.Start, run.Name, run.Region), out var same) ? same.Sk : SurrogateKey(customerId, run.Start, run.Name, run.Region);
            versions.Add(new CustomerVersion(sk, customerId, run.Name, run.Region, run.Start, i + 1 < runs.Count ? runs[i + 1].Start : null, run.LastSeenAt, run.OrderCount));
        }

        var newOrderVersions = new Dictionary<string, long>(StringComparer.Ordinal);
        var storedOrdersMove = false;
        for (var i = 0; i < runs.Count; i++)
        {
            var sk = versions[i].Sk;
            foreach (var piece in runs[i].Pieces)
            {
                storedOrdersMove |= piece.Block is { } block && block.Sk != sk;
                storedOrdersMove |= piece.StoredOrders.Any(o => o.Sk != sk);
                foreach (var orderId in piece.NewOrderIds)
                {
                    newOrderVersions[orderId] = sk;
                }
            }
        }

        var kept = versions.Select(v => v.Sk).ToHashSet();
        return new CustomerHistoryChange(
            versions,
            versions.Where(v => !storedBySk.TryGetValue(v.Sk, out var before) || before != v).ToArray(),
            stored.Where(v => !kept.Contains(v.Sk)).Select(v => v.Sk).ToArray(),
            newOrderVersions,
            storedOrdersMove);
    }

    /// <summary>
    /// A key derived from what the version is, not from a sequence: two writers (or a retry) opening the same
    /// version produce the same key, and no warehouse round trip is needed to allocate one.
    /// </summary>
    public static long SurrogateKey(string customerId, DateTime validFrom, string name, string region)
    {
        var text = $"{customerId}\u001f{validFrom.Ticks}\u001f{name}\u001f{region}";
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text));
        return (long)(BitConverter.ToUInt64(hash, 0) & long.MaxValue);
    }

    /// <summary>A stretch of time with one name and region: a whole stored version, or one instant.</summary>
    private sealed record Piece(DateTime Start, DateTime End, string Name, string Region, long Weight)
    {
        public CustomerVersion? Block { get; init; }

        public IReadOnlyList<StoredCustomerOrder> StoredOrders { get; init; } = [];

        public IReadOnlyList<string> NewOrderIds { get; init; } = [];
    }

    /// <summary>Consecutive pieces with the same name and region: one version.</summary>
    private sealed class Run(DateTime start, string name, string region)
    {
        public DateTime Start { get; } = start;
        public string Name { get; } = name;
        public string Region { get; } = region;
        public DateTime LastSeenAt { get; set; } = start;
        public long OrderCount { get; set; }
        public List<Piece> Pieces { get; } = [];
    }
}
