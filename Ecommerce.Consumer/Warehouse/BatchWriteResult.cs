namespace Ecommerce.Consumer.Warehouse;

/// <summary>What one batch write changed.</summary>
public sealed record BatchWriteResult(int OrdersInserted, int CustomerVersionsWritten, int ProductsWritten, int DatesWritten);
