namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// The <see cref="IWarehouseProvider.CommitSequence"/> just before a transaction and just after it, both taken under
/// the lock that orders the warehouse's commits: no other transaction committed between them.
/// </summary>
public sealed record CommitSequenceSpan(long Before, long After);
