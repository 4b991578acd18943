namespace Ecommerce.Consumer.Warehouse;

/// <summary>One version of a customer (a row of DIM_CUSTOMER).</summary>
public sealed class CustomerVersion
{
    public required long Sk { get; init; }
    public required string CustomerId { get; init; }
    public required string Name { get; init; }
    public required string Region { get; init; }
    public required DateTime ValidFrom { get; set; }
    public DateTime? ValidTo { get; set; }

    /// <summary>
    /// No order inside this version is later than this. A late event before it may have to split the version (and
    /// costs a look-up of the next order); one after it cannot. It is kept rounded up to the hour, so that a steady
    /// stream of orders rewrites it once an hour per customer rather than with every order.
    /// </summary>
    public required DateTime LastSeenAt { get; set; }

    /// <summary>Changed or created by the current batch, so it has to be written.</summary>
    public bool Dirty { get; set; }

    public bool Contains(DateTime instant) => ValidFrom <= instant && (ValidTo is null || instant < ValidTo);

    public bool HasAttributes(string name, string region) =>
        string.Equals(Name, name, StringComparison.Ordinal) && string.Equals(Region, region, StringComparison.Ordinal);
}

/// <summary>
/// Type-2 history of one customer, rebuilt in memory for a batch. Every order is an observation of the
/// customer's name and region at the order's timestamp; versions change where consecutive observations (in
/// time, not arrival order) differ. Observations must be applied in timestamp order within a batch.
/// </summary>
public sealed class CustomerHistory(string customerId, List<CustomerVersion> versions)
{
    private readonly List<CustomerVersion> _versions = versions; // Oldest first, contiguous where they meet.

    public string CustomerId { get; } = customerId;

    /// <summary>Whether orders already in the warehouse may now point at the wrong version (a split happened).</summary>
    public bool NeedsRepoint { get; private set; }

    public IReadOnlyList<CustomerVersion> Versions => _versions;

    /// <summary>
    /// Applies one order and returns the surrogate key of the version valid at its timestamp.
    /// <paramref name="nextOrderAfter"/> finds the customer's first stored order strictly between two instants; it is
    /// called only when a late order lands inside a version that has later orders.
    /// </summary>
    public async ValueTask<long> ApplyAsync(
        DateTime timestamp, string name, string region, Func<DateTime, DateTime?, ValueTask<DateTime?>> nextOrderAfter)
    {
        if (_versions.Count == 0)
        {
            return Open(0, timestamp, validTo: null, name, region).Sk;
        }

        var index = _versions.FindLastIndex(v => v.ValidFrom <= timestamp);
        if (index < 0)
        {
            // Earlier than everything known about this customer.
            var earliest = _versions[0];
            if (earliest.HasAttributes(name, region))
            {
                earliest.ValidFrom = timestamp; // The same version simply started earlier.
                earliest.Dirty = true;
                return earliest.Sk;
            }

            return Open(0, timestamp, earliest.ValidFrom, name, region).Sk;
        }

        var current = _versions[index];
        if (current.HasAttributes(name, region) || current.ValidFrom == timestamp)
        {
            // Same attributes: nothing changes but the last sighting. Two different observations at the very same
            // instant cannot both hold; the one recorded first is kept.
            if (timestamp > current.LastSeenAt)
            {
                current.LastSeenAt = CeilingToHour(timestamp);
                current.Dirty = true;
            }

            return current.Sk;
        }

        // The attributes changed at this instant. If the old version was observed again later, it resumes then.
        var resumesAt = timestamp < current.LastSeenAt ? await nextOrderAfter(timestamp, current.ValidTo) : null;
        var oldValidTo = current.ValidTo;
        var oldLastSeen = current.LastSeenAt;
        current.ValidTo = timestamp;
        current.Dirty = true;
        var changed = Open(index + 1, timestamp, resumesAt ?? oldValidTo, name, region);
        if (resumesAt is { } resumed)
        {
            Open(index + 2, resumed, oldValidTo, current.Name, current.Region).LastSeenAt = oldLastSeen;
            NeedsRepoint = true;
        }

        return changed.Sk;
    }

    private CustomerVersion Open(int position, DateTime validFrom, DateTime? validTo, string name, string region)
    {
        var version = new CustomerVersion
        {
            Sk = SurrogateKey(CustomerId, validFrom, name, region),
            CustomerId = CustomerId,
            Name = name,
            Region = region,
            ValidFrom = validFrom,
            ValidTo = validTo,
            LastSeenAt = CeilingToHour(validFrom),
            Dirty = true,
        };
        _versions.Insert(position, version);
        return version;
    }

    /// <summary>The end of the hour <paramref name="instant"/> falls in (an upper bound that changes once an hour).</summary>
    private static DateTime CeilingToHour(DateTime instant) =>
        new(instant.Ticks - (instant.Ticks % TimeSpan.TicksPerHour) + TimeSpan.TicksPerHour, DateTimeKind.Utc);

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
}
