namespace Ecommerce.Consumer.Analytics;

public sealed record MonthlySales(int Year, int Month, string Category, string Region, long Orders, long Units, decimal Revenue);
