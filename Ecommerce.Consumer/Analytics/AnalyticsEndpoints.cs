namespace Ecommerce.Consumer.Analytics;

public static class AnalyticsEndpoints
{
    public static IHostApplicationBuilder AddAnalytics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AnalyticsQueries>();
        return builder;
    }

    /// <summary>
    /// The analytics API under <c>/api/analytics</c>, JSON with camelCase fields, and the sales dashboard that shows it
    /// (<c>/dashboard/</c>, static files from wwwroot that poll the API).
    /// </summary>
    public static IEndpointRouteBuilder MapAnalytics(this IEndpointRouteBuilder endpoints)
    {
        var analytics = endpoints.MapGroup("/api/analytics");

        // All months unless a range of order dates is given (from inclusive, to exclusive, e.g. ?from=2026-01-01&to=2026-07-01).
        analytics.MapGet("/monthly-sales", async (AnalyticsQueries queries, CancellationToken cancellationToken, DateOnly? from, DateOnly? to) =>
        {
            var (start, end) = (from ?? EarliestDate, to ?? LatestDate);
            return start >= end
                ? Results.ValidationProblem(new Dictionary<string, string[]> { ["from"] = ["from must be before to"] })
                : Results.Ok(await queries.MonthlySalesAsync(start, end, cancellationToken));
        });

        analytics.MapGet("/top-customers", async (AnalyticsQueries queries, CancellationToken cancellationToken, int days = 30, int limit = 5) =>
            Invalid(("days", days, 36_500), ("limit", limit, MaxLimit)) ?? Results.Ok(await queries.TopCustomersAsync(days, limit, cancellationToken)));

        analytics.MapGet("/product-quantities", async (AnalyticsQueries queries, CancellationToken cancellationToken, int limit = 100) =>
            Invalid(("limit", limit, MaxLimit)) ?? Results.Ok(await queries.ProductQuantitiesAsync(limit, cancellationToken)));

        analytics.MapGet("/multi-region-customers", async (AnalyticsQueries queries, CancellationToken cancellationToken, int limit = 100) =>
            Invalid(("limit", limit, MaxLimit)) ?? Results.Ok(await queries.MultiRegionCustomersAsync(limit, cancellationToken)));

        analytics.MapGet("/revenue-per-minute", async (AnalyticsQueries queries, CancellationToken cancellationToken, int minutes = 60) =>
            Invalid(("minutes", minutes, 1_440)) ?? Results.Ok(await queries.RevenuePerMinuteAsync(minutes, cancellationToken)));

        // Totals of a window and the change against the window before it; the last 24 hours unless given.
        analytics.MapGet("/summary", async (AnalyticsQueries queries, TimeProvider time, CancellationToken cancellationToken, DateTimeOffset? from, DateTimeOffset? to) =>
        {
            var end = (to ?? time.GetUtcNow()).UtcDateTime;
            var start = (from ?? end.AddDays(-1)).UtcDateTime;
            if (start >= end || end - start > TimeSpan.FromDays(3_660))
            {
                return Results.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["from"] = ["from must be before to, and at most ten years before it"],
                });
            }

            return Results.Ok(await queries.SalesSummaryAsync(start, end, cancellationToken));
        });

        return endpoints;
    }

    private const int MaxLimit = 10_000;

    // Open ends of a date range: before any order the validator accepts, and the last day a date can name.
    private static readonly DateOnly EarliestDate = new(1900, 1, 1);
    private static readonly DateOnly LatestDate = new(9999, 12, 31);

    /// <summary>A 400 naming every query parameter outside 1 to its maximum, or null when all are within.</summary>
    private static IResult? Invalid(params (string Name, int Value, int Max)[] parameters)
    {
        var errors = parameters
            .Where(p => p.Value < 1 || p.Value > p.Max)
            .ToDictionary(p => p.Name, p => new[] { $"{p.Name} must be from 1 to {p.Max}" });
        return errors.Count == 0 ? null : Results.ValidationProblem(errors);
    }
}
