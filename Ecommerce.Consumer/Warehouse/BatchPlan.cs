namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// What a batch needs from the warehouse before its transaction: which of its orders are new, and the rebuilt
/// history of the customers of those. Made by <see cref="StarSchemaWriter.PlanAsync"/>.
/// </summary>
public sealed class BatchPlan
{
    internal BatchPlan(
        BatchClassification classification, Dictionary<string, (IReadOnlyList<CustomerVersion> Stored, CustomerHistoryChange Change)> histories,
        long? commitSequenceBeforeReads = null)
    {
        Classification = classification;
        Histories = histories;
        CommitSequenceBeforeReads = commitSequenceBeforeReads;
    }

    /// <summary>
    /// The warehouse's <see cref="IWarehouseProvider.CommitSequence"/> before the plan's reads, where it keeps one: when
    /// it is unchanged at the transaction, nothing can have overtaken those reads, nor the customers' versions the writer
    /// held instead of reading (<see cref="CustomerVersionCache"/>, exact at that same count).
    /// </summary>
    internal long? CommitSequenceBeforeReads { get; }

    public BatchClassification Classification { get; }

    /// <summary>Per customer of a new order: the versions as read, and what the new orders change in them.</summary>
    internal Dictionary<string, (IReadOnlyList<CustomerVersion> Stored, CustomerHistoryChange Change)> Histories { get; }
}
