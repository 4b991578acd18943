using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>
/// Runs statements through Snowflake's SQL API v2 the way a production client must:
/// <list type="bullet">
/// <item>one <c>requestId</c> per logical statement, and <c>retry=true</c> when it is submitted again, so that
/// Snowflake never runs a resubmitted statement twice;</item>
/// <item>429, 500, 502, 503, 504, timeouts and dropped connections retried with exponential backoff and jitter,
/// honouring <c>Retry-After</c>, for <see cref="SnowflakeOptions.RetryFor"/> (and at least once);</item>
/// <item>202 (still running) followed by polling the statement handle, and a cancel when nobody waits any more;</item>
/// <item>SQL errors (422) and refused credentials (401/403) surfaced at once with Snowflake's code and message;</item>
/// <item>results read from every partition, and checked to be complete (a multi-statement request's summary excepted).</item>
/// </list>
/// The HTTP client given here must not retry by itself: a blind retry would resubmit without <c>retry=true</c>.
/// </summary>
public sealed partial class SnowflakeSqlApiClient(
    HttpClient http,
    SnowflakeOptions options,
    SnowflakeCredentials credentials,
    TimeProvider time,
    IMeterFactory meters,
    ILogger<SnowflakeSqlApiClient> logger)
{
    public const string MeterName = "Ecommerce.Warehouse.Snowflake";

    public const string StatementsPath = "api/v2/statements";
    public const string HttpClientKey = "snowflake";
    private const string IncompleteResultCode = "391908";
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FirstPollDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxPollDelay = TimeSpan.FromSeconds(2);
    private static readonly ProductInfoHeaderValue UserAgent = new("Ecommerce.Consumer", typeof(SnowflakeSqlApiClient).Assembly.GetName().Version?.ToString(3) ?? "1.0");
    private readonly Counter<long> _retries = meters.Create(MeterName).CreateCounter<long>(
        "ecommerce.snowflake.retries", "{attempt}", "Statement submissions and polls retried after a transient failure (429, 5xx, dropped connection, timeout).");

    /// <summary>
    /// The HTTP client this class expects: it decompresses (later result partitions come gzipped), renews pooled
    /// connections (so DNS changes are seen), and has no overall timeout (each attempt has its own).
    /// </summary>
    public static HttpClient CreateHttpClient(SnowflakeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new HttpClient(new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.All,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        {
            BaseAddress = options.Endpoint,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>
    /// Runs <paramref name="statement"/> (<paramref name="statementCount"/> statements separated by <c>;</c> when
    /// more than one, then without bind variables) and returns its result; for several statements, Snowflake's
    /// one-row summary.
    /// </summary>
    public async Task<SnowflakeResult> ExecuteAsync(
        string statement, IReadOnlyList<SqlApiBinding> bindings, int statementCount, CancellationToken cancellationToken)
    {
        var first = await SubmitAsync(statement, bindings, statementCount, cancellationToken);
        var rows = new List<IReadOnlyList<string?>>((int)Math.Min(first.ResultSetMetaData?.NumRows ?? 0, 1_000_000));
        await ReadPartitionsAsync(first, (_, data) => rows.AddRange(data), cancellationToken);
        return new SnowflakeResult(first.StatementHandle, first.ResultSetMetaData?.RowType ?? [], rows);
    }

    /// <summary>
    /// Runs one query and returns its rows decoded with <paramref name="decode"/>, a result partition at a time: the
    /// partitions' texts are let go as they are decoded, so a large result (a modelling cycle's landed orders) is never
    /// held twice, as text and as values.
    /// </summary>
    public async Task<IReadOnlyList<T>> QueryAsync<T>(
        string statement, IReadOnlyList<SqlApiBinding> bindings, Func<IReadOnlyList<SqlApiColumn>, IReadOnlyList<string?>, T> decode,
        CancellationToken cancellationToken)
    {
        var first = await SubmitAsync(statement, bindings, 1, cancellationToken);
        var rows = new List<T>((int)Math.Min(first.ResultSetMetaData?.NumRows ?? 0, 1_000_000));
        await ReadPartitionsAsync(first, (columns, data) =>
        {
            foreach (var row in data)
            {
                rows.Add(decode(columns, row));
            }
        }, cancellationToken);
        return rows;
    }

    /// <summary>Submits a request and waits for its answer: the first partition of its result.</summary>
    private async Task<SqlApiResponse> SubmitAsync(
        string statement, IReadOnlyList<SqlApiBinding> bindings, int statementCount, CancellationToken cancellationToken)
    {
        var request = new SqlApiRequest
        {
            Statement = statement,
            Timeout = (long)Math.Ceiling(options.StatementTimeout.TotalSeconds),
            Database = Identifier(options.Database),
            Schema = Identifier(options.Schema),
            Warehouse = Identifier(options.Warehouse),
            Role = string.IsNullOrWhiteSpace(options.Role) ? null : Identifier(options.Role),
            Bindings = bindings.Count == 0
                ? null
                : bindings.Select((b, i) => (Key: (i + 1).ToString(CultureInfo.InvariantCulture), b)).ToDictionary(p => p.Key, p => p.b),
            Parameters = new Dictionary<string, string>
            {
                // Timestamps are UTC wall-clock values throughout the schema.
                ["TIMEZONE"] = "UTC",
                ["QUERY_TAG"] = options.QueryTag,
                ["MULTI_STATEMENT_COUNT"] = statementCount.ToString(CultureInfo.InvariantCulture),
            },
        };
        var body = JsonSerializer.SerializeToUtf8Bytes(request, SqlApiJsonContext.Default.SqlApiRequest);
        var requestId = Guid.NewGuid();

        var response = await SendWithRetriesAsync(
            attempt => Post(requestId, resubmission: attempt > 1, body), $"statement {requestId}", cancellationToken);
        if (response.Status == HttpStatusCode.Accepted)
        {
            response = await PollAsync(response.Body, cancellationToken);
        }

        return response.Body;
    }

    /// <summary>
    /// A name as SQL would resolve it: unquoted names are upper case in Snowflake (<c>ecommerce</c> is ECOMMERCE);
    /// a name written in double quotes keeps its case.
    /// </summary>
    internal static string? Identifier(string? name)
    {
        var trimmed = name?.Trim();
        return trimmed is { Length: > 1 } && trimmed[0] == '"' && trimmed[^1] == '"' ? trimmed[1..^1] : trimmed?.ToUpperInvariant();
    }

    private static HttpRequestMessage Post(Guid requestId, bool resubmission, byte[] body)
    {
        var uri = $"{StatementsPath}?requestId={requestId}" + (resubmission ? "&retry=true" : "");
        var message = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return message;
    }

    private async Task<(HttpStatusCode Status, SqlApiResponse Body)> PollAsync(SqlApiResponse accepted, CancellationToken cancellationToken)
    {
        var handle = accepted.StatementHandle ?? throw new SnowflakeException("Snowflake answered 202 without a statement handle.");
        var giveUpAt = time.GetUtcNow() + options.StatementTimeout + options.RequestTimeout;
        var delay = FirstPollDelay;
        while (true)
        {
            (HttpStatusCode Status, SqlApiResponse Body) response;
            try
            {
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(MaxPollDelay.Ticks, delay.Ticks * 2));
                // While the statement runs, throttled polls (429) are waited out until the statement's own deadline,
                // not just for RetryFor: the statement is still running and its result still wanted.
                response = await SendWithRetriesAsync(
                    _ => new HttpRequestMessage(HttpMethod.Get, $"{StatementsPath}/{Uri.EscapeDataString(handle)}"), $"statement {handle}", cancellationToken,
                    giveUpAt);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Nobody wants the answer any more (e.g. an analytics request whose caller went away): stop paying for it.
                await CancelAsync(handle);
                throw;
            }

            if (response.Status != HttpStatusCode.Accepted)
            {
                return response;
            }

            if (time.GetUtcNow() > giveUpAt)
            {
                await CancelAsync(handle);
                throw new SnowflakeException(
                    $"Statement {handle} was still running after {options.StatementTimeout.TotalSeconds:F0} s ({nameof(SnowflakeOptions.StatementTimeout)}); it was cancelled.");
            }
        }
    }

    /// <summary>Asks Snowflake to cancel a running statement; one try, since it ends at its own timeout anyway.</summary>
    private async Task CancelAsync(string handle)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{StatementsPath}/{Uri.EscapeDataString(handle)}/cancel");
        Authorize(request);
        using var timeout = new CancellationTokenSource(options.RequestTimeout);
        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            LogCancelled(handle, (int)response.StatusCode);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            LogCancelled(handle, 0);
        }
    }

    private void Authorize(HttpRequestMessage request)
    {
        var token = credentials.Current();
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
        request.Headers.Add("X-Snowflake-Authorization-Token-Type", token.Type);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.UserAgent.Add(UserAgent);
    }

    /// <summary>
    /// Hands every partition of a result to <paramref name="onPartition"/> in order, the first from the answer itself and
    /// the others fetched a few at a time; checks that the rows add up to what the metadata announced.
    /// </summary>
    private async Task ReadPartitionsAsync(
        SqlApiResponse first, Action<IReadOnlyList<SqlApiColumn>, List<List<string?>>> onPartition, CancellationToken cancellationToken)
    {
        var columns = first.ResultSetMetaData?.RowType ?? [];
        if (first.Code == IncompleteResultCode)
        {
            throw new SnowflakeException($"Snowflake returned an incomplete result for statement {first.StatementHandle}: {first.Message}");
        }

        var rows = (long)(first.Data?.Count ?? 0);
        onPartition(columns, first.Data ?? []);
        if (first.StatementHandles is not null)
        {
            // A multi-statement request answers with a summary row, and its row count describes something else: the API
            // reference's own example shows numRows 56090 beside one row (developer-guide/sql-api/reference). The
            // statements' results are behind their handles; nothing here needs them.
            return;
        }

        // The partitions after the first are fetched a few at a time ("Fetch query results concurrently" is one of the
        // API's stated capabilities, developer-guide/sql-api/intro) and handed on in order as each one arrives.
        var partitions = first.ResultSetMetaData?.PartitionInfo ?? [];
        var fetching = new Queue<Task<List<List<string?>>>>();
        var requested = 1;
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            for (var partition = 1; partition < partitions.Count; partition++)
            {
                for (; requested < partitions.Count && requested < partition + ConcurrentPartitionFetches; requested++)
                {
                    fetching.Enqueue(FetchPartitionAsync(first.StatementHandle!, requested, partitions[requested].RowCount, abandon.Token));
                }

                var data = await fetching.Dequeue();
                rows += data.Count;
                onPartition(columns, data);
            }
        }
        finally
        {
            // After a failure the fetches still running are called off (they would go on retrying for a result nobody
            // reads) and end unobserved.
            if (fetching.Count > 0)
            {
                await abandon.CancelAsync();
                foreach (var left in fetching)
                {
                    _ = left.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                }
            }
        }

        if (first.ResultSetMetaData is { } metadata && rows != metadata.NumRows)
        {
            throw new SnowflakeException($"Statement {first.StatementHandle} returned {rows} rows instead of {metadata.NumRows}.");
        }
    }

    /// <summary>How many partitions of one result are fetched at once.</summary>
    private const int ConcurrentPartitionFetches = 4;

    private async Task<List<List<string?>>> FetchPartitionAsync(string statementHandle, int partition, long expectedRows, CancellationToken cancellationToken)
    {
        var uri = $"{StatementsPath}/{Uri.EscapeDataString(statementHandle)}?partition={partition}";
        var next = await SendWithRetriesAsync(_ => new HttpRequestMessage(HttpMethod.Get, uri), $"partition {partition} of {statementHandle}", cancellationToken);
        var data = next.Status == HttpStatusCode.OK ? next.Body.Data : null;
        if (data is null || data.Count != expectedRows)
        {
            throw new SnowflakeException(
                $"Partition {partition} of statement {statementHandle} came with {data?.Count.ToString(CultureInfo.InvariantCulture) ?? "no"} rows instead of {expectedRows}.");
        }

        return data;
    }

    /// <summary>
    /// Sends a request until it gets a final answer (200 or 202), retrying what is transient. 4xx answers other than
    /// 408 and 429 are final and thrown as Snowflake's own error.
    /// </summary>
    private async Task<(HttpStatusCode Status, SqlApiResponse Body)> SendWithRetriesAsync(
        Func<int, HttpRequestMessage> createRequest, string what, CancellationToken cancellationToken, DateTimeOffset? retryUntil = null)
    {
        var giveUpAt = retryUntil ?? time.GetUtcNow() + options.RetryFor;
        var delay = FirstRetryDelay;
        var renewed = false;
        for (var attempt = 1; ; attempt++)
        {
            string failure;
            string errorType;
            TimeSpan? retryAfter = null;
            using (var request = createRequest(attempt))
            using (var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                Authorize(request);
                attemptTimeout.CancelAfter(options.RequestTimeout);
                try
                {
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attemptTimeout.Token);
                    var body = await ReadBodyAsync(response, attemptTimeout.Token);
                    switch (response.StatusCode)
                    {
                        case HttpStatusCode.OK:
                        case HttpStatusCode.Accepted:
                            return (response.StatusCode, body ?? throw new SnowflakeException($"Snowflake answered {(int)response.StatusCode} to {what} with an empty body."));
                        case HttpStatusCode.Unauthorized when !renewed:
                            // The API asks a client whose token it refuses to get a new one and try again; the
                            // statement did not run, so the same requestId is safe. A second refusal is final.
                            renewed = true;
                            credentials.Renew();
                            failure = Describe(response.StatusCode, body);
                            errorType = "401";
                            retryAfter = TimeSpan.Zero;
                            break;
                        case HttpStatusCode.Unauthorized:
                        case HttpStatusCode.Forbidden:
                            throw new SnowflakeAuthenticationException(
                                $"Snowflake refused {credentials.Description}: {Describe(response.StatusCode, body)}. " +
                                "Check that the public key set on the user (ALTER USER ... SET RSA_PUBLIC_KEY) matches the private key, " +
                                "or that the token is valid, and that the role may use the warehouse, database and schema.",
                                body?.Code);
                        case HttpStatusCode.TooManyRequests:
                        case HttpStatusCode.ServiceUnavailable:
                        case HttpStatusCode.GatewayTimeout:
                        case HttpStatusCode.BadGateway:
                        case HttpStatusCode.InternalServerError:
                            failure = Describe(response.StatusCode, body);
                            errorType = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                            retryAfter = RetryAfter(response);
                            break;
                        default:
                            // 422 (SQL error), 408 (statement timeout), 400/404 (a request this client got wrong): retrying
                            // would fail the same way.
                            throw new SnowflakeException(
                                $"Snowflake failed {what}: {Describe(response.StatusCode, body)}",
                                (int)response.StatusCode, body?.Code, body?.SqlState, body?.StatementHandle);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or JsonException
                    || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    // The connection dropped, or no answer came in time: whether the statement ran is unknown, which is
                    // what requestId + retry=true resolve on the next attempt.
                    failure = ex is OperationCanceledException ? $"no answer within {options.RequestTimeout.TotalSeconds:F0} s" : ex.Message;
                    errorType = ex is OperationCanceledException ? "timeout" : ex.GetType().Name;
                }
            }

            var now = time.GetUtcNow();
            var wait = retryAfter ?? Jittered(delay);
            if (attempt >= 2 && now + wait > giveUpAt)
            {
                throw new SnowflakeException(
                    $"Snowflake did not complete {what} after {attempt} attempts over {options.RetryFor.TotalSeconds:F0} s; last failure: {failure}",
                    new HttpRequestException(failure));
            }

            LogRetrying(what, attempt, failure, wait.TotalMilliseconds);
            _retries.Add(1, new KeyValuePair<string, object?>("error.type", errorType));
            await Task.Delay(wait, time, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(MaxRetryDelay.Ticks, delay.Ticks * 2));
        }
    }

    private static async Task<SqlApiResponse?> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (bytes.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(bytes, SqlApiJsonContext.Default.SqlApiResponse);
        }
        catch (JsonException) when (!response.IsSuccessStatusCode)
        {
            // An error page from a proxy or load balancer rather than from the SQL API.
            return new SqlApiResponse { Message = System.Text.Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 300)) };
        }
    }

    private static string Describe(HttpStatusCode status, SqlApiResponse? body)
    {
        var text = $"HTTP {(int)status}";
        if (body?.Code is { Length: > 0 } code)
        {
            text += $", code {code}";
        }

        if (body?.SqlState is { Length: > 0 } sqlState)
        {
            text += $", SQL state {sqlState}";
        }

        if (body?.Message is { Length: > 0 } message)
        {
            text += $": {message}";
        }

        if (body?.StatementHandle is { Length: > 0 } handle)
        {
            text += $" (query id {handle})";
        }

        return text;
    }

    /// <summary>The server's own wait, in seconds or as a date, when it gives one.</summary>
    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var wait = header?.Delta ?? (header?.Date is { } date ? date - time.GetUtcNow() : null);
        return wait is { } value ? TimeSpan.FromTicks(Math.Clamp(value.Ticks, 0, TimeSpan.FromMinutes(1).Ticks)) : null;
    }

    /// <summary>A wait between half the delay and the delay ("equal jitter"), so that clients retrying together spread out.</summary>
    private static TimeSpan Jittered(TimeSpan delay) => delay * (0.5 + (Random.Shared.NextDouble() * 0.5));

    [LoggerMessage(Level = LogLevel.Information, Message = "Asked Snowflake to cancel statement {Handle} (HTTP {Status}; 0 = no answer)")]
    private partial void LogCancelled(string handle, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Snowflake {What}: attempt {Attempt} failed ({Failure}); retrying in {DelayMs:F0} ms")]
    private partial void LogRetrying(string what, int attempt, string failure, double delayMs);
}
