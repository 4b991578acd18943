namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// What a batch needs from the warehouse before its transaction: which of its orders are new, and the rebuilt
/// history of the customers of those. Made by <see cref="StarSchemaWriter.PlanAsync"/>.
/// </summary>
public sealed class BatchPlan
{
    internal BatchPlan(BatchClassification classification, Dictionary<string, (IReadOnlyList<CustomerVersion> Stored, CustomerHistoryChange Change)> histories)
    {
        Classification = classification;
        Histories = histories;
    }

    public BatchClassification Classification { get; }

    /// <summary>Per customer of a new order: the versions as read, and what the new orders change in them.</summary>
    internal Dictionary<string, (IReadOnlyList<CustomerVersion> Stored, CustomerHistoryChange Change)> Histories { get; }
}
