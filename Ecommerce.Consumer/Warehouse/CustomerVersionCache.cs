namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// Customers' stored versions (rows of DIM_CUSTOMER) as they stood at one value of the warehouse's
/// <see cref="IWarehouseProvider.CommitSequence"/>, kept by a writer of a warehouse that counts its commits (a DuckDB
/// file, which one process writes). A batch of the same customers as the last ones then plans without reading their
/// versions: with the simulator's 10,000 customers that read was about a fifth of the write path's time per batch.
/// </summary>
/// <remarks>
/// Everything held is exact at <c>validAt</c>, or nothing is used:
/// <list type="bullet">
/// <item>A plan takes what is held only when the sequence it took before its reads is <c>validAt</c>: then nothing
/// committed since. Otherwise the cache is emptied, and is valid (holding nothing) at the plan's sequence.</item>
/// <item>What a plan reads joins the cache only if the sequence is still the one it took before the read: a read that
/// ends with no commit since it began saw the warehouse as it stood then.</item>
/// <item>A transaction that committed moves <c>validAt</c> to the step's end, with its customers' histories as it
/// wrote them, only if the step began at <c>validAt</c>: nothing else committed in between. Any other commit (a
/// script, a modelling cycle, another writer, a transaction whose outcome is unknown) leaves <c>validAt</c> behind
/// the warehouse's sequence, and the next plan starts again from reads.</item>
/// </list>
/// What a plan takes is then what it would have read at that sequence, so the transaction's check treats both alike.
/// </remarks>
internal sealed class CustomerVersionCache(int capacity = CustomerVersionCache.DefaultCapacity)
{
    /// <summary>Customers held at most (about 200 bytes each with one version); past it the cache starts again.</summary>
    public const int DefaultCapacity = 250_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, CustomerVersion[]> _byCustomer = new(StringComparer.Ordinal);
    private long? _validAt;

    /// <summary>How many customers are held.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byCustomer.Count;
            }
        }
    }

    /// <summary>
    /// The held versions of <paramref name="customerIds"/> as they stood at <paramref name="sequence"/>, and the
    /// customers to read. All are to read unless the cache is valid at <paramref name="sequence"/>.
    /// </summary>
    public (List<CustomerVersion> Held, List<string> ToRead) Take(long sequence, IReadOnlyList<string> customerIds)
    {
        var held = new List<CustomerVersion>();
        var toRead = new List<string>();
        lock (_gate)
        {
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
    /// After a transaction committed as planned: its customers' histories as it wrote them (each customer's complete
    /// versions, oldest first), valid after <paramref name="step"/> if the cache was valid where it began.
    /// </summary>
    public void Committed(CommitSequenceStep step, IEnumerable<KeyValuePair<string, IReadOnlyList<CustomerVersion>>> histories)
    {
        lock (_gate)
        {
            if (_validAt != step.Before)
            {
                _byCustomer.Clear();
                _validAt = null;
                return;
            }

            var written = histories.ToList();
            MakeRoom(written.Count);
            foreach (var (id, versions) in written)
            {
                _byCustomer[id] = [.. versions];
            }

            _validAt = step.After;
        }
    }

    /// <summary>Holds nothing, valid nowhere.</summary>
    public void Forget()
    {
        lock (_gate)
        {
            _byCustomer.Clear();
            _validAt = null;
        }
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
