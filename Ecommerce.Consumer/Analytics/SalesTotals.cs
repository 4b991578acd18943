namespace Ecommerce.Consumer.Analytics;

/// <summary>The sales of one time window.</summary>
public sealed record SalesTotals(long Orders, long Units, decimal Revenue, decimal AverageOrderValue, long Customers);
