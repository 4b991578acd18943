namespace Ecommerce.Consumer.DeadLetters;

/// <summary>The dead-letter API: list what was refused and why, and send chosen events again.</summary>
public static class DeadLetterEndpoints
{
    private const int MaxLimit = 1_000;

    public static IHostApplicationBuilder AddDeadLetters(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DeadLetterBrowser>();
        builder.Services.AddSingleton<DeadLetterReplayer>();
        return builder;
    }

    /// <summary>
    /// <c>GET /api/dead-letters?code=&amp;from=&amp;to=&amp;limit=100&amp;skip=0</c>: newest first, filtered by reason code and by
    /// when they were refused (ISO-8601, <c>from</c> inclusive, <c>to</c> exclusive).
    /// <c>POST /api/dead-letters/replay</c> with <c>{"deadLetters":[{"partition":0,"offset":12}]}</c>: sends them to the
    /// orders topic again and says, for each, where it went or why not.
    /// </summary>
    public static IEndpointRouteBuilder MapDeadLetters(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/dead-letters");

        group.MapGet("/", async (DeadLetterBrowser browser, CancellationToken cancellationToken,
            string? code, DateTimeOffset? from, DateTimeOffset? to, int limit = 100, int skip = 0) =>
        {
            var errors = new Dictionary<string, string[]>();
            if (limit is < 1 or > MaxLimit)
            {
                errors["limit"] = [$"limit must be from 1 to {MaxLimit}"];
            }

            if (skip < 0)
            {
                errors["skip"] = ["skip must be 0 or more"];
            }

            if (from is not null && to is not null && from >= to)
            {
                errors["to"] = ["to must be later than from"];
            }

            return errors.Count > 0
                ? Results.ValidationProblem(errors)
                : Results.Ok(await Task.Run(() => browser.List(code, from, to, limit, skip), cancellationToken));
        });

        group.MapPost("/replay", async (ReplayRequest request, DeadLetterReplayer replayer, CancellationToken cancellationToken) =>
        {
            if (request.DeadLetters is not { Count: > 0 and <= DeadLetterReplayer.MaxPerRequest } positions)
            {
                return Results.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["deadLetters"] = [$"name 1 to {DeadLetterReplayer.MaxPerRequest} dead letters by partition and offset, as listed"],
                });
            }

            return Results.Ok(await replayer.ReplayAsync(positions, cancellationToken));
        });

        return endpoints;
    }
}
