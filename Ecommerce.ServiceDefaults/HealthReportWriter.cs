using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Writes the health report as JSON with each check's status and description, so that an operator reading
/// /health sees which dependency is failing and why instead of a bare "Unhealthy".
/// </summary>
internal static class HealthReportWriter
{
    /// <summary>Key of a check's data entry with a description safe to show in Production (no hosts, no error texts).</summary>
    public const string SummaryKey = "summary";

    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        // An exception's text can quote host names, settings or data: shown outside Production only.
        var showErrors = context.RequestServices.GetService<IHostEnvironment>()?.IsProduction() != true;
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new
                {
                    status = entry.Value.Status.ToString(),
                    description = showErrors || entry.Value.Status == HealthStatus.Healthy
                        ? entry.Value.Description ?? entry.Value.Exception?.Message
                        : entry.Value.Data.TryGetValue(SummaryKey, out var summary) ? summary
                        : entry.Value.Exception is { } error ? $"{entry.Value.Status} ({error.GetType().Name})" : entry.Value.Description,
                }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, cancellationToken: context.RequestAborted);
    }
}
