namespace Ecommerce.Consumer.Orders;

/// <summary>The fields of a valid order event.</summary>
public readonly record struct ParsedOrder(
    string OrderId,
    DateTime OrderTimestamp,
    string CustomerId,
    string CustomerName,
    string CustomerRegion,
    string ProductId,
    string ProductName,
    string Category,
    decimal Price,
    int Quantity);
