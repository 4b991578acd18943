namespace Ecommerce.Consumer.Warehouse;

/// <summary>A stored order of a customer, with the version it points at.</summary>
public readonly record struct StoredCustomerOrder(string OrderId, DateTime Timestamp, long Sk);
