namespace Ecommerce.Consumer.Analytics;

public static class AnalyticsEndpoints
{
    public static IHostApplicationBuilder AddAnalytics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AnalyticsQueries>();
        return builder;
    }

    /// <summary>The analytics API under <c>/api/analytics</c>, JSON with camelCase fields.</summary>
    public static IEndpointRouteBuilder MapAnalytics(this IEndpointRouteBuilder endpoints)
    {
        var analytics = endpoints.MapGroup("/api/analytics");

        analytics.MapGet("/monthly-sales", (AnalyticsQueries queries, CancellationToken cancellationToken) =>
            queries.MonthlySalesAsync(cancellationToken));

        analytics.MapGet("/top-customers", async (AnalyticsQueries queries, CancellationToken cancellationToken, int days = 30, int limit = 5) =>
        {
            if (days is < 1 or > 36_500 || limit is < 1 or > 10_000)
            {
                return Results.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["days"] = days is < 1 or > 36_500 ? ["days must be from 1 to 36500"] : [],
                    ["limit"] = limit is < 1 or > 10_000 ? ["limit must be from 1 to 10000"] : [],
                }.Where(e => e.Value.Length > 0).ToDictionary());
            }

            return Results.Ok(await queries.TopCustomersAsync(days, limit, cancellationToken));
        });

        analytics.MapGet("/product-quantities", (AnalyticsQueries queries, CancellationToken cancellationToken) =>
            queries.ProductQuantitiesAsync(cancellationToken));

        analytics.MapGet("/multi-region-customers", (AnalyticsQueries queries, CancellationToken cancellationToken) =>
            queries.MultiRegionCustomersAsync(cancellationToken));

        return endpoints;
    }
}
