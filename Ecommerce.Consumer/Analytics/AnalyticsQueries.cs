using System.Globalization;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Consumer.Analytics;

/// <summary>
/// The four questions of the original project, answered from the star schema with the SQL in <c>sql/analytics</c>
/// (the same text an analyst can run in the warehouse directly).
/// </summary>
public sealed class AnalyticsQueries(IWarehouseProvider warehouse, TimeProvider time)
{
    public async Task<IReadOnlyList<MonthlySales>> MonthlySalesAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken) =>
        (await QueryAsync("analytics/monthly_sales.sql", [from, to], cancellationToken))
            .Select(r => new MonthlySales(Int(r[0]), Int(r[1]), Text(r[2]), Text(r[3]), Long(r[4]), Long(r[5]), Money(r[6])))
            .ToArray();

    /// <summary>Customers with more than one order in the last <paramref name="days"/> days, most orders first.</summary>
    public async Task<IReadOnlyList<RepeatCustomer>> TopCustomersAsync(int days, int limit, CancellationToken cancellationToken)
    {
        var since = time.GetUtcNow().UtcDateTime.AddDays(-days);
        return (await QueryAsync("analytics/top_customers.sql", [since, limit], cancellationToken))
            .Select(r => new RepeatCustomer(Text(r[0]), Text(r[1]), Text(r[2]), Long(r[3]), Money(r[4]), (DateTime)r[5]!))
            .ToArray();
    }

    /// <summary>The <paramref name="limit"/> best-selling products.</summary>
    public async Task<IReadOnlyList<ProductQuantity>> ProductQuantitiesAsync(int limit, CancellationToken cancellationToken) =>
        (await QueryAsync("analytics/product_quantities.sql", [limit], cancellationToken))
            .Select(r => new ProductQuantity(Text(r[0]), Text(r[1]), Text(r[2]), Long(r[3]), Long(r[4]), Money(r[5]), Money(r[6])))
            .ToArray();

    /// <summary>Up to <paramref name="limit"/> customers seen in more than one region, most regions first, with their current name and region.</summary>
    public async Task<IReadOnlyList<MultiRegionCustomer>> MultiRegionCustomersAsync(int limit, CancellationToken cancellationToken) =>
        (await QueryAsync("analytics/multi_region_customers.sql", [limit], cancellationToken))
            .Select(r => new MultiRegionCustomer(Text(r[0]), Text(r[1]), Text(r[2]), Long(r[3]), Long(r[4]), (DateTime)r[5]!, (DateTime)r[6]!))
            .ToArray();

    /// <summary>Orders and revenue per minute and category over the last <paramref name="minutes"/> minutes.</summary>
    public async Task<IReadOnlyList<MinuteSales>> RevenuePerMinuteAsync(int minutes, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var since = new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), DateTimeKind.Utc).AddMinutes(-(minutes - 1));
        return (await QueryAsync("analytics/revenue_per_minute.sql", [since], cancellationToken))
            .Select(r => new MinuteSales(DateTime.SpecifyKind((DateTime)r[0]!, DateTimeKind.Utc), Text(r[1]), Long(r[2]), Money(r[3])))
            .ToArray();
    }

    /// <summary>The sales from <paramref name="from"/> to <paramref name="to"/>, beside those of the window before.</summary>
    public async Task<SalesSummary> SalesSummaryAsync(DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        var previousFrom = from - (to - from);
        var rows = await QueryAsync("analytics/sales_summary.sql", [previousFrom, from, to], cancellationToken);
        SalesTotals Totals(int isCurrent) => rows.FirstOrDefault(r => Int(r[0]) == isCurrent) is { } r
            ? new SalesTotals(Long(r[1]), Long(r[2]), Money(r[3]), Long(r[1]) == 0 ? 0 : decimal.Round(Money(r[3]) / Long(r[1]), 2), Long(r[4]))
            : new SalesTotals(0, 0, 0, 0, 0);
        var (current, previous) = (Totals(1), Totals(0));
        static double? Change(decimal now, decimal before) => before == 0 ? null : (double)((now - before) / before);
        return new SalesSummary(from, to, previousFrom, current, previous,
            Change(current.Orders, previous.Orders), Change(current.Revenue, previous.Revenue),
            Change(current.AverageOrderValue, previous.AverageOrderValue), Change(current.Units, previous.Units));
    }

    private Task<IReadOnlyList<object?[]>> QueryAsync(string script, object?[] parameters, CancellationToken cancellationToken) =>
        warehouse.QueryAsync(new SqlStatement(SqlScripts.Get(script), parameters) { ScansWarehouse = true }, cancellationToken);

    private static string Text(object? value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";

    private static int Int(object? value) => Convert.ToInt32(value, CultureInfo.InvariantCulture);

    private static long Long(object? value) => Convert.ToInt64(value, CultureInfo.InvariantCulture);

    private static decimal Money(object? value) => decimal.Round(Convert.ToDecimal(value, CultureInfo.InvariantCulture), 2);
}
