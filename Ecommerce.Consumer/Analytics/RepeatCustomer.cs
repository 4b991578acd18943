namespace Ecommerce.Consumer.Analytics;

public sealed record RepeatCustomer(string CustomerId, string CustomerName, string Region, long Orders, decimal Revenue, DateTime LastOrderAt);
