namespace Ecommerce.Consumer.Analytics;

public sealed record ProductQuantity(string ProductId, string ProductName, string Category, long QuantitySold, long Orders, decimal AveragePrice, decimal Revenue);
