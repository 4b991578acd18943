using Ecommerce.Consumer.Orders;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>How the orders of a batch relate to what the warehouse already holds.</summary>
public sealed record BatchClassification(
    IReadOnlyList<IncomingOrder> New,
    IReadOnlyList<IncomingOrder> Duplicates,
    IReadOnlyList<IncomingOrder> Conflicts);
