namespace Ecommerce.Consumer.Analytics;

/// <summary>
/// The sales of a window (<see cref="From"/> inclusive to <see cref="To"/> exclusive) and of the window of the same
/// length just before it (from <see cref="PreviousFrom"/>), with the relative change of each figure (null where the
/// previous window had none).
/// </summary>
public sealed record SalesSummary(
    DateTime From, DateTime To, DateTime PreviousFrom, SalesTotals Current, SalesTotals Previous,
    double? OrdersChange, double? RevenueChange, double? AverageOrderValueChange, double? UnitsChange);
