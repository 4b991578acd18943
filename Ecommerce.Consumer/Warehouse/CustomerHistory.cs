namespace Ecommerce.Consumer.Warehouse;

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
    public static IEnumerable<CustomerVersion> VersionsToOpen(IReadOnlyList<CustomerVersion> stored, IReadOnlyList<DateTime> newOrderTimes)
    {
        if (stored.Count == 0 || newOrderTimes.Count == 0)
        {
            return [];
        }

        // Indexed loops: an IReadOnlyList's enumerator is an object of its own, and this runs for every customer of every batch.
        var earliest = newOrderTimes[0];
        for (var i = 1; i < newOrderTimes.Count; i++)
        {
            earliest = newOrderTimes[i] < earliest ? newOrderTimes[i] : earliest;
        }

        // The usual case: every new order is later than everything stored.
        var lastSeen = stored[0].LastSeenAt;
        for (var i = 1; i < stored.Count; i++)
        {
            lastSeen = stored[i].LastSeenAt > lastSeen ? stored[i].LastSeenAt : lastSeen;
        }

        if (earliest > lastSeen)
        {
            return [];
        }

        var times = newOrderTimes.Order().ToArray();
        return stored.Where(version =>
        {
            // The first new order at or after the version's start: inside the version's orders, or none is.
            var next = Array.BinarySearch(times, version.ValidFrom);
            var index = next >= 0 ? next : ~next;
            return index < times.Length && version.SpansOrderAt(times[index]);
        }).ToArray();
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
        IReadOnlyCollection<CustomerObservation> newOrders) =>
        (openedOrders.Count == 0 ? Extend(customerId, stored, newOrders) : null) ?? RebuildInFull(customerId, stored, openedOrders, newOrders);

    /// <summary>
    /// The usual case, without the pieces and runs of <see cref="RebuildInFull"/> (about a third of the CPU a DuckDB
    /// batch spent planning): every new order is later than everything stored and has the name and region of the
    /// current version (or, for a customer with no history, of each other), and the stored history is as
    /// <see cref="RebuildInFull"/> leaves it (consecutive versions, each valid until the next begins, and differing
    /// from it). The current version then grows by the new orders, or one version holds them all. Null otherwise; the
    /// result is the one <see cref="RebuildInFull"/> gives.
    /// </summary>
    internal static CustomerHistoryChange? Extend(string customerId, IReadOnlyList<CustomerVersion> stored, IReadOnlyCollection<CustomerObservation> newOrders)
    {
        if (newOrders.Count == 0)
        {
            return null;
        }

        var first = newOrders.First();
        DateTime earliest = DateTime.MaxValue, latest = DateTime.MinValue;
        foreach (var order in newOrders)
        {
            if (!string.Equals(order.Name, first.Name, StringComparison.Ordinal) || !string.Equals(order.Region, first.Region, StringComparison.Ordinal))
            {
                return null;
            }

            earliest = order.Timestamp < earliest ? order.Timestamp : earliest;
            latest = order.Timestamp > latest ? order.Timestamp : latest;
        }

        var newOrderVersions = new Dictionary<string, long>(newOrders.Count, StringComparer.Ordinal);
        if (stored.Count == 0)
        {
            var sk = SurrogateKey(customerId, earliest, first.Name, first.Region);
            foreach (var order in newOrders)
            {
                newOrderVersions[order.OrderId] = sk;
            }

            var only = new CustomerVersion(sk, customerId, first.Name, first.Region, earliest, null, latest, newOrders.Count);
            return new CustomerHistoryChange([only], [only], [], newOrderVersions, false);
        }

        for (var i = 0; i < stored.Count; i++)
        {
            var version = stored[i];
            var next = i + 1 < stored.Count ? stored[i + 1] : null;
            var wellFormed = string.Equals(version.CustomerId, customerId, StringComparison.Ordinal) && version.LastSeenAt >= version.ValidFrom
                && (next is null
                    ? version.ValidTo is null
                    : version.ValidTo == next.ValidFrom && version.LastSeenAt < next.ValidFrom
                        && (!string.Equals(version.Name, next.Name, StringComparison.Ordinal) || !string.Equals(version.Region, next.Region, StringComparison.Ordinal)));
            if (!wellFormed)
            {
                return null;
            }
        }

        var current = stored[^1];
        if (earliest <= current.LastSeenAt || !string.Equals(current.Name, first.Name, StringComparison.Ordinal) || !string.Equals(current.Region, first.Region, StringComparison.Ordinal))
        {
            return null;
        }

        foreach (var order in newOrders)
        {
            newOrderVersions[order.OrderId] = current.Sk;
        }

        var extended = current with { LastSeenAt = latest, OrderCount = current.OrderCount + newOrders.Count };
        var versions = new CustomerVersion[stored.Count];
        for (var i = 0; i < versions.Length - 1; i++)
        {
            versions[i] = stored[i];
        }

        versions[^1] = extended;
        return new CustomerHistoryChange(versions, [extended], [], newOrderVersions, false);
    }

    /// <summary>The general rebuild: see <see cref="Rebuild"/>.</summary>
    internal static CustomerHistoryChange RebuildInFull(
        string customerId,
        IReadOnlyList<CustomerVersion> stored,
        IReadOnlyCollection<StoredCustomerOrder> openedOrders,
        IReadOnlyCollection<CustomerObservation> newOrders)
    {
        // Everything known about the customer, as pieces in time: whole stored versions that were not opened, and
        // single instants (stored orders of opened versions, and the new orders) with the order that speaks for each.
        var opened = openedOrders.Count == 0 ? null : openedOrders.Select(o => o.Sk).ToHashSet();
        var pieces = new List<Piece>(stored.Count + newOrders.Count + openedOrders.Count);
        foreach (var version in stored)
        {
            if (opened is null || !opened.Contains(version.Sk))
            {
                pieces.Add(new Piece(version.ValidFrom, version.LastSeenAt, version.Name, version.Region, version.OrderCount, version));
            }
        }

        var orders = new List<(DateTime At, string OrderId, string Name, string Region, StoredCustomerOrder? Stored)>(newOrders.Count + openedOrders.Count);
        foreach (var order in newOrders)
        {
            orders.Add((order.Timestamp, order.OrderId, order.Name, order.Region, null));
        }

        foreach (var order in openedOrders)
        {
            var version = Find(stored, order.Sk);
            orders.Add((order.Timestamp, order.OrderId, version.Name, version.Region, order));
        }

        // By time, then order id: the first order of each instant speaks for it.
        orders.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : string.CompareOrdinal(a.OrderId, b.OrderId));
        for (var i = 0; i < orders.Count;)
        {
            var speaker = orders[i];
            var piece = new Piece(speaker.At, speaker.At, speaker.Name, speaker.Region, 0, null);
            for (; i < orders.Count && orders[i].At == speaker.At; i++)
            {
                piece.Weight++;
                if (orders[i].Stored is { } storedOrder)
                {
                    (piece.StoredOrders ??= []).Add(storedOrder);
                }
                else
                {
                    (piece.NewOrderIds ??= []).Add(orders[i].OrderId);
                }
            }

            pieces.Add(piece);
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
        var versions = new List<CustomerVersion>(runs.Count);
        var changed = new List<CustomerVersion>();
        var newOrderVersions = new Dictionary<string, long>(newOrders.Count, StringComparer.Ordinal);
        var storedOrdersMove = false;
        for (var i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            var same = stored.FirstOrDefault(v => v.ValidFrom == run.Start
                && string.Equals(v.Name, run.Name, StringComparison.Ordinal) && string.Equals(v.Region, run.Region, StringComparison.Ordinal));
            var sk = same?.Sk ?? SurrogateKey(customerId, run.Start, run.Name, run.Region);
            var version = new CustomerVersion(sk, customerId, run.Name, run.Region, run.Start, i + 1 < runs.Count ? runs[i + 1].Start : null, run.LastSeenAt, run.OrderCount);
            versions.Add(version);
            if (same != version)
            {
                changed.Add(version);
            }

            foreach (var piece in run.Pieces)
            {
                storedOrdersMove |= piece.Block is { } block && block.Sk != sk;
                foreach (var storedOrder in piece.StoredOrders ?? [])
                {
                    storedOrdersMove |= storedOrder.Sk != sk;
                }

                foreach (var orderId in piece.NewOrderIds ?? [])
                {
                    newOrderVersions[orderId] = sk;
                }
            }
        }

        var retired = stored.Count == versions.Count && changed.Count == 0
            ? []
            : stored.Where(v => !versions.Exists(kept => kept.Sk == v.Sk)).Select(v => v.Sk).ToArray();
        return new CustomerHistoryChange(versions, changed, retired, newOrderVersions, storedOrdersMove);
    }

    private static CustomerVersion Find(IReadOnlyList<CustomerVersion> stored, long sk)
    {
        for (var i = 0; i < stored.Count; i++)
        {
            if (stored[i].Sk == sk)
            {
                return stored[i];
            }
        }

        throw new ArgumentException($"A stored order points at version {sk}, which is not among the customer's stored versions.", nameof(sk));
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

    /// <summary>A stretch of time with one name and region: a whole stored version (<see cref="Block"/>), or one instant.</summary>
    private sealed class Piece(DateTime start, DateTime end, string name, string region, long weight, CustomerVersion? block)
    {
        public DateTime Start { get; } = start;
        public DateTime End { get; } = end;
        public string Name { get; } = name;
        public string Region { get; } = region;
        public long Weight { get; set; } = weight;
        public CustomerVersion? Block { get; } = block;
        public List<StoredCustomerOrder>? StoredOrders { get; set; }
        public List<string>? NewOrderIds { get; set; }
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
