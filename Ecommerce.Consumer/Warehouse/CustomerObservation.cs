namespace Ecommerce.Consumer.Warehouse;

/// <summary>An order as evidence of what its customer was called and where they were at the order's time.</summary>
public readonly record struct CustomerObservation(string OrderId, DateTime Timestamp, string Name, string Region);
