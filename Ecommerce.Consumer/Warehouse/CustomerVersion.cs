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
