namespace Ecommerce.Consumer.Analytics;

/// <summary>Orders and revenue of one category in one minute.</summary>
public sealed record MinuteSales(DateTime Minute, string Category, long Orders, decimal Revenue);
