namespace Ecommerce.Consumer.Warehouse;

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
