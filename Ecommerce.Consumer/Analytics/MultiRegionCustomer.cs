namespace Ecommerce.Consumer.Analytics;

public sealed record MultiRegionCustomer(string CustomerId, string CustomerName, string Region, long Regions, long Orders, DateTime FirstOrderAt, DateTime LastOrderAt);
