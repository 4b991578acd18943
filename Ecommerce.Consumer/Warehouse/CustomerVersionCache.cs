namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// Customers' stored versions (rows of DIM_CUSTOMER) as they stood at one value of the warehouse's
/// <see cref="IWarehouseProvider.CommitSequence"/>, kept by a writer of a warehouse that counts its commits (a DuckDB
/// file, which one process writes). A batch of the same customers as the last ones then plans without reading their
/// versions: with the simulator's 10,000 customers that read was about a sixth of the CPU per order in steady state.
/// </summary>
/// <remarks>
/// Everything held is exact at <c>validAt</c>, or nothing is used:
/// <list type="bullet">
/// <item>A plan takes what is held only when the sequence it took before its reads is <c>validAt</c>: then nothing
/// committed since. At a later sequence the cache is emptied, and is valid (holding nothing) there.</item>
/// <item>What a plan reads joins the cache only if the sequence is still the one it took before the read: a read that
/// ends with no commit since it began saw the warehouse as it stood then.</item>
/// <item>A transaction that committed moves <c>validAt</c> to the end of its span, with its customers' histories as it
/// wrote them, only if its plan was made at <c>validAt</c> and the span begins there: nothing committed between the
/// plan's reads and the commit, so what it wrote is its plan, not merely a plan the currency check let through. Any
/// other commit (a script, a modelling cycle, another writer, a transaction whose outcome is unknown) leaves
/// <c>validAt</c> behind the warehouse's sequence, and the next plan starts again from reads.</item>
/// </list>
/// What a plan takes is then what it would have read at that sequence, so the transaction's check treats both alike.
/// Times are held as written; DuckDB keeps microseconds, so a customer with a finer time is not held (orders arrive
/// cut to the microsecond by <c>OrderValidator</c>; this guards other callers).
/// </remarks>
internal sealed class CustomerVersionCache(int capacity = CustomerVersionCache.DefaultCapacity)
{
    /// <summary>
    /// Customers held at most: about 400 bytes each with one version (the record, its array, the dictionary's entry, and
    /// strings read back), so 40 MB at most. Past it the cache starts again.
    /// </summary>
    public const int DefaultCapacity = 100_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, CustomerVersion[]> _byCustomer = new(StringComparer.Ordinal);
    private long? _validAt;

    /// <summary>
    /// The held versions of <paramref name="customerIds"/> as they stood at <paramref name="sequence"/>, and the
    /// customers to read. All are to read unless the cache is valid at <paramref name="sequence"/>.
    /// </summary>
    public (List<CustomerVersion> Held, List<string> ToRead) Take(long sequence, IReadOnlyList<string> customerIds)
    {
        var held = new List<CustomerVersion>(customerIds.Count);
        var toRead = new List<string>(customerIds.Count);
        lock (_gate)
        {
            if (sequence < _validAt)
            {
                // A plan that began before the last commit (two in flight): the cache is ahead of it, not wrong.
                return (held, [.. customerIds]);
            }

            if (_validAt != sequence)
            {
                _byCustomer.Clear();
                _validAt = sequence;
            }

            foreach (var id in customerIds)
            {
                if (_byCustomer.TryGetValue(id, out var versions))
                {
                    held.AddRange(versions);
                }
                else
                {
                    toRead.Add(id);
                }
            }
        }

        return (held, toRead);
    }

    /// <summary>
    /// Holds what a read of <paramref name="customerIds"/> found (<paramref name="read"/>; none for a customer with no
    /// version), when the caller saw the sequence still at <paramref name="sequence"/> after the read ended.
    /// </summary>
    public void Fill(long sequence, IReadOnlyList<string> customerIds, IReadOnlyList<CustomerVersion> read)
    {
        var found = read.GroupBy(v => v.CustomerId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(v => v.ValidFrom).ToArray(), StringComparer.Ordinal);
        lock (_gate)
        {
            if (_validAt != sequence)
            {
                return;
            }

            MakeRoom(customerIds.Count);
            foreach (var id in customerIds)
            {
                _byCustomer[id] = found.TryGetValue(id, out var versions) ? versions : [];
            }
        }
    }

    /// <summary>
    /// After a transaction committed over <paramref name="span"/>: its customers' histories as it wrote them (each
    /// customer's complete versions, oldest first), from a plan made at <paramref name="plannedAt"/>. Held, valid at the
    /// span's end, if the plan and the span both began where the cache was valid; otherwise the cache lets go.
    /// </summary>
    public void Committed(CommitSequenceSpan span, long? plannedAt, IEnumerable<KeyValuePair<string, IReadOnlyList<CustomerVersion>>> histories)
    {
        lock (_gate)
        {
            if (_validAt is not { } validAt || plannedAt != validAt || span.Before != validAt)
            {
                _byCustomer.Clear();
                _validAt = null;
                return;
            }

            var written = histories.ToList();
            MakeRoom(written.Count);
            foreach (var (id, versions) in written)
            {
                if (AllInWholeMicroseconds(versions))
                {
                    _byCustomer[id] = [.. versions];
                }
                else
                {
                    _byCustomer.Remove(id);
                }
            }

            _validAt = span.After;
        }
    }

    private static bool WholeMicroseconds(DateTime time) => time.Ticks % TimeSpan.TicksPerMicrosecond == 0;

    /// <summary>Whether every time of the versions is in whole microseconds (an indexed loop: this runs for every customer a batch writes).</summary>
    private static bool AllInWholeMicroseconds(IReadOnlyList<CustomerVersion> versions)
    {
        for (var i = 0; i < versions.Count; i++)
        {
            var v = versions[i];
            if (!WholeMicroseconds(v.ValidFrom) || !WholeMicroseconds(v.LastSeenAt) || (v.ValidTo is { } to && !WholeMicroseconds(to)))
            {
                return false;
            }
        }

        return true;
    }

    private void MakeRoom(int adding)
    {
        if (_byCustomer.Count + adding > capacity)
        {
            // Rare (more customers than the capacity in play): starting again costs reads, never a wrong answer.
            _byCustomer.Clear();
        }
    }
}
