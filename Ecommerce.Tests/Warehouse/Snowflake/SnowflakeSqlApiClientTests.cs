using System.Globalization;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Consumer.Warehouse.Snowflake;
using Ecommerce.Testing.Snowflake;
using Ecommerce.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Ecommerce.Tests.Warehouse.Snowflake;

/// <summary>
/// How the Snowflake client behaves on the wire, against the SQL API test double: retries that never run a
/// statement twice, polling, partitions, errors that are surfaced rather than retried, and no secret in the logs.
/// </summary>
public sealed class SnowflakeSqlApiClientTests : IAsyncLifetime
{
    private static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);
    private readonly CapturingLogger<SnowflakeSqlApiClient> _log = new();
    private SnowflakeSqlApiDouble _double = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync() => _double = await SnowflakeSqlApiDouble.StartAsync();

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        await _double.DisposeAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task The_doubles_warehouse_concurrency_makes_statements_past_it_wait_for_a_slot()
    {
        // Four single statements sent at once to a warehouse of two slots: no more than two spend their second at once,
        // so the four take at least two seconds (a wait is never shorter than asked, so a busy machine cannot break it).
        var client = Client();
        _double.StatementLatency = TimeSpan.FromSeconds(1);
        _double.WarehouseConcurrency = 2;

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(i => client.ExecuteAsync($"SELECT {i}", [], 1, CancellationToken.None)));

        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2), $"four statements on two slots took {clock.Elapsed}");
        Assert.InRange(_double.MostStatementsAtOnce, 1, 2);
    }

    [Fact]
    public async Task The_doubles_statement_latency_adds_up_within_a_request_overlaps_across_sessions_and_queues_batch_transactions()
    {
        // What the benchmark's Snowflake figures rest on; the bounds below are the ones a busy machine cannot break
        // (a wait is never shorter than asked), and the one upper bound has a wide margin.
        var client = Client();
        await client.ExecuteAsync("CREATE TABLE TAKEN_IN_TURN (TAKEN_AT TIMESTAMP)", [], 1, CancellationToken.None);
        _double.StatementLatency = TimeSpan.FromSeconds(1);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await client.ExecuteAsync("SELECT 1; SELECT 2; SELECT 3", [], 3, CancellationToken.None);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(3), $"three statements took {clock.Elapsed}");

        // Taken one after another, the four runs would span at least the sum of their own durations; overlapping,
        // they span less (read from the double's records of each run, so a request that arrives late on a busy
        // machine lengthens the span but cannot fake a serial queue).
        var runsBefore = _double.Runs.Count;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => client.ExecuteAsync("SELECT 1", [], 1, CancellationToken.None)));
        var selects = _double.Runs.Skip(runsBefore).ToArray();
        Assert.Equal(4, selects.Length);
        var span = selects.Max(r => r.Finished) - selects.Min(r => r.Started);
        var serial = TimeSpan.FromTicks(selects.Sum(r => (r.Finished - r.Started).Ticks));
        Assert.True(span < serial,
            $"four sessions' statements did not overlap: {string.Join("; ", selects.Select(r => $"{r.Started}..{r.Finished}"))}");

        clock.Restart();
        const string Batch = "BEGIN TRANSACTION; UPDATE TAKEN_IN_TURN SET TAKEN_AT = CURRENT_TIMESTAMP; COMMIT";
        await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => client.ExecuteAsync(Batch, [], 3, CancellationToken.None)));
        // Both BEGINs at once (1 s), then the table is held from the UPDATE to the COMMIT (2 s), by one and then the other.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(5), $"two batch transactions took {clock.Elapsed}; the UPDATE's table lock should queue them");
    }

    [Fact]
    public async Task A_multi_statement_answer_is_taken_as_its_summary_whatever_row_count_it_states()
    {
        // The API reference's own multi-statement example states numRows 56090 beside one row of data; the double
        // answers in kind, so a client that checked the count against the rows would refuse every batch transaction.
        var result = await Client().ExecuteAsync("SELECT 1; SELECT 2; SELECT 3", [], 3, CancellationToken.None);

        Assert.Equal("Multiple statements executed successfully.", Assert.Single(result.Rows)[0]);
    }

    [Fact]
    public async Task Bursts_of_429_and_503_are_retried_with_the_same_request_id_and_the_statement_runs_once()
    {
        var client = Client();
        await client.ExecuteAsync("CREATE TABLE T (ID INTEGER)", [], 1, CancellationToken.None);
        _double.Inject(new SnowflakeFault.Status(429, RetryAfter: TimeSpan.FromSeconds(1)));
        _double.Inject(new SnowflakeFault.Status(503));
        _double.Inject(new SnowflakeFault.Status(504));
        var runsBefore = _double.StatementsRun;

        var started = DateTime.UtcNow;
        await client.ExecuteAsync("INSERT INTO T VALUES (?)", [SnowflakeValues.Bind(7L)], 1, CancellationToken.None);

        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9), "the client did not wait as long as Retry-After asked");
        Assert.Equal(1, _double.StatementsRun - runsBefore);
        var attempts = _double.Requests.Where(r => r.Method == "POST" && r.Detail.StartsWith("INSERT", StringComparison.Ordinal)).ToArray();
        Assert.Equal(4, attempts.Length);
        Assert.Single(attempts.Select(a => a.Id).Distinct());
        Assert.Equal([false, true, true, true], attempts.Select(a => a.Retry));
        Assert.Equal(1L, await CountAsync("T"));
    }

    [Fact]
    public async Task A_connection_dropped_after_a_batch_committed_is_resubmitted_and_the_batch_is_not_written_twice()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.Snowflake);
        bed.SnowflakeDouble!.Inject(new SnowflakeFault.DropAfterRunning(), r => r.IsBatchTransaction);
        var orders = Enumerable.Range(0, 50).Select(i => WarehouseTestBed.Order($"o-{i}", T0.AddMinutes(i), customerId: $"C{i % 7}")).ToArray();

        await bed.IngestAsync(orders);
        var again = await bed.IngestAsync(orders);

        Assert.Equal(50L, await bed.CountAsync("FACT_ORDERS"));
        Assert.Equal(50, again.Duplicates.Count);
        var transactions = bed.SnowflakeDouble.Requests.Where(r => r.IsBatchTransaction).ToArray();
        Assert.Equal(3, transactions.Length); // First batch: dropped, then resubmitted; second batch: offsets only.
        Assert.Equal(transactions[0].Id, transactions[1].Id);
        Assert.True(transactions[1].Retry);
        // A committed batch's staged rows are deleted by a request of their own, after the commit.
        Assert.Equal(0L, await StagedRowsSettledAsync(bed.SnowflakeDouble));
    }

    [Fact]
    public async Task A_connection_dropped_before_a_batch_ran_is_resubmitted_and_the_batch_lands_once()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.Snowflake);
        bed.SnowflakeDouble!.Inject(new SnowflakeFault.DropBeforeRunning(), r => r.IsBatchTransaction);

        await bed.IngestAsync(Enumerable.Range(0, 20).Select(i => WarehouseTestBed.Order($"o-{i}", T0.AddMinutes(i))).ToArray());

        Assert.Equal(20L, await bed.CountAsync("FACT_ORDERS"));
        Assert.Single(await bed.Writer.ReadOffsetsAsync("orders", CancellationToken.None));
    }

    [Fact]
    public async Task A_statement_that_fails_inside_a_batch_leaves_nothing_of_the_batch_in_the_tables()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.Snowflake);
        var rows = new RowSet("orders", [new("ORDER_ID", ColumnType.Text)], [["o-1"], ["o-2"]]);
        var statements = new[]
        {
            SqlStatement.WithSources("INSERT INTO DIM_DATE (ORDER_DATE, DAY, MONTH, YEAR, QUARTER, WEEKDAY, DAY_NAME, MONTH_NAME, IS_WEEKEND) VALUES (DATE '2026-03-01', 1, 3, 2026, 1, 7, 'Sunday', 'March', TRUE)"),
            SqlStatement.WithSources("INSERT INTO FACT_ORDERS (ORDER_ID) SELECT ORDER_ID FROM {orders}", rows), // NOT NULL columns missing
        };

        var error = await Assert.ThrowsAsync<SnowflakeException>(() => bed.Provider.ExecuteTransactionAsync(statements, CancellationToken.None));

        Assert.Equal(422, error.HttpStatus);
        Assert.Equal("100132", error.Code);
        Assert.Equal(0L, await bed.CountAsync("DIM_DATE"));
        Assert.Equal(0L, await bed.CountAsync("FACT_ORDERS"));
    }

    [Fact]
    public async Task A_statement_still_running_is_polled_until_its_result_is_ready()
    {
        var client = Client();
        _double.Inject(new SnowflakeFault.RunAsynchronously(Polls: 3));

        var result = await client.ExecuteAsync("SELECT 42 AS ANSWER", [], 1, CancellationToken.None);

        Assert.Equal("42", Assert.Single(result.Rows)[0]);
        Assert.Equal(4, _double.Requests.Count(r => r.Method == "GET"));
    }

    [Fact]
    public async Task A_statement_nobody_waits_for_any_more_is_cancelled()
    {
        var client = Client();
        _double.Inject(new SnowflakeFault.RunAsynchronously(Polls: 1_000));
        using var caller = new CancellationTokenSource();

        // The caller gives up once the statement is known to be running (the client polls its handle), however
        // long the submission took on a busy machine.
        var execution = client.ExecuteAsync("SELECT 42", [], 1, caller.Token);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!_double.Requests.Any(r => r.Method == "GET") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await caller.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => execution);

        var submitted = Assert.Single(_double.Requests, r => r.Method == "POST");
        var cancel = Assert.Single(_double.Requests, r => r.Method == "CANCEL");
        Assert.Contains(_double.Requests, r => r.Method == "GET" && r.Id == cancel.Id);
        Assert.NotEqual(submitted.Id, cancel.Id); // The handle, not the request id.
    }

    [Fact]
    public async Task Every_partition_of_a_large_result_is_read_through_failures_while_fetching()
    {
        var client = Client();
        _double.RowsPerPartition = 7;
        // Both failures on one partition, one after the other: the double offers only the first fault still pending, and
        // partitions are fetched four at a time, so a fault set for a later partition could miss a request that came early.
        _double.Inject(new SnowflakeFault.Status(503), r => r.Method == "GET" && r.Detail == "2");
        _double.Inject(new SnowflakeFault.DropBeforeRunning(), r => r.Method == "GET" && r.Detail == "2");

        var result = await client.ExecuteAsync("SELECT range AS N FROM range(50) ORDER BY N", [], 1, CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, 50).Select(n => n.ToString(CultureInfo.InvariantCulture)), result.Rows.Select(r => r[0]));
        Assert.Equal(0, _double.PendingFaults);
        Assert.Equal(9, _double.Requests.Count(r => r.Method == "GET" && r.Detail.Length > 0)); // Partitions 1 to 7, gzipped, the second three times.
    }

    [Fact]
    public async Task A_sql_error_is_surfaced_with_snowflakes_code_and_is_not_retried()
    {
        var client = Client();

        var error = await Assert.ThrowsAsync<SnowflakeException>(() => client.ExecuteAsync("SELECT * FROM NO_SUCH_TABLE", [], 1, CancellationToken.None));

        Assert.Equal(422, error.HttpStatus);
        Assert.Equal("002003", error.Code);
        Assert.Equal("42S02", error.SqlState);
        Assert.Contains("NO_SUCH_TABLE", error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.StatementHandle);
        Assert.Single(_double.Requests);
    }

    [Fact]
    public async Task A_wrong_key_is_an_authentication_error_naming_the_user_and_key_after_one_try_with_a_new_token()
    {
        using var otherKey = System.Security.Cryptography.RSA.Create(2048);
        var client = Client(_double.ClientOptions(otherKey.ExportPkcs8PrivateKeyPem()));

        var error = await Assert.ThrowsAsync<SnowflakeAuthenticationException>(() => client.ExecuteAsync("SELECT 1", [], 1, CancellationToken.None));

        Assert.Equal("390144", error.Code);
        Assert.Contains("TESTORG-TESTACCOUNT.INGEST_SVC", error.Message, StringComparison.Ordinal);
        Assert.Contains(KeyPairCredentials.Fingerprint(otherKey), error.Message, StringComparison.Ordinal);
        Assert.Equal(2, _double.Requests.Count);
    }

    [Fact]
    public async Task A_token_refused_once_is_replaced_and_the_statement_runs_once()
    {
        var client = Client();
        await client.ExecuteAsync("CREATE TABLE T (ID INTEGER)", [], 1, CancellationToken.None);
        _double.Inject(new SnowflakeFault.Status(401));

        await client.ExecuteAsync("INSERT INTO T VALUES (1)", [], 1, CancellationToken.None);

        var attempts = _double.Requests.Where(r => r.Method == "POST" && r.Detail.StartsWith("INSERT", StringComparison.Ordinal)).ToArray();
        Assert.Equal([false, true], attempts.Select(a => a.Retry));
        Assert.Single(attempts.Select(a => a.Id).Distinct());
        Assert.Equal(1L, await CountAsync("T"));
    }

    [Fact]
    public async Task Polls_throttled_for_longer_than_the_retry_window_are_waited_out_while_the_statement_runs()
    {
        var options = _double.ClientOptions();
        options.RetryFor = TimeSpan.FromSeconds(1);
        var client = Client(options);
        _double.Inject(new SnowflakeFault.RunAsynchronously(Polls: 1));
        for (var i = 0; i < 3; i++)
        {
            _double.Inject(new SnowflakeFault.Status(429, RetryAfter: TimeSpan.FromSeconds(1)), r => r.Method == "GET");
        }

        var result = await client.ExecuteAsync("SELECT 42", [], 1, CancellationToken.None);

        Assert.Equal("42", result.Rows.Single()[0]);
        Assert.Equal(0, _double.PendingFaults);
    }

    [Fact]
    public async Task A_programmatic_access_token_is_sent_with_its_token_type()
    {
        _double.ProgrammaticAccessToken = "pat-" + Guid.NewGuid();
        var options = _double.ClientOptions();
        options.PrivateKey = null;
        options.Token = _double.ProgrammaticAccessToken;

        var result = await Client(options).ExecuteAsync("SELECT 1", [], 1, CancellationToken.None);

        Assert.Single(result.Rows);
    }

    [Fact]
    public async Task An_outage_longer_than_the_retry_window_fails_with_the_last_error_and_no_secret_is_logged()
    {
        var options = _double.ClientOptions();
        options.RetryFor = TimeSpan.FromSeconds(5);
        var client = Client(options);
        _double.Unavailable = true;

        var error = await Assert.ThrowsAsync<SnowflakeException>(() => client.ExecuteAsync("SELECT 1", [], 1, CancellationToken.None));

        Assert.Contains("HTTP 503", error.Message, StringComparison.Ordinal);
        Assert.True(_double.Requests.Count >= 3, $"only {_double.Requests.Count} attempts in the retry window");
        Assert.NotEmpty(_log.Messages);
        var everything = string.Join("\n", _log.Messages) + error;
        Assert.DoesNotContain("eyJ", everything, StringComparison.Ordinal); // The start of every JWT.
        Assert.DoesNotContain("PRIVATE KEY", everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Row_sets_larger_than_one_statement_allows_are_sliced_and_still_land_in_one_transaction()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.Snowflake, configure: options => options.MaxBytesPerStatement = 10_000);
        var orders = Enumerable.Range(0, 1_050).Select(i => WarehouseTestBed.Order($"o-{i}", T0.AddSeconds(i), customerId: $"C{i % 300}")).ToArray();

        var first = await bed.IngestAsync(orders);
        var again = await bed.IngestAsync(orders);

        Assert.Equal(1_050, first.New.Count);
        Assert.Equal(1_050, again.Duplicates.Count);
        Assert.Equal(1_050L, await bed.CountAsync("FACT_ORDERS"));
        Assert.Equal(300L, await bed.CountAsync("DIM_CUSTOMER"));
        Assert.Equal(2, bed.SnowflakeDouble!.Requests.Count(r => r.IsBatchTransaction));
        Assert.True(bed.SnowflakeDouble.Requests.Count(r => r.Detail.StartsWith("INSERT INTO ECOMMERCE_STAGE_ORDERS", StringComparison.Ordinal)) >= 11);
    }

    [Fact]
    public async Task Staging_tables_dropped_by_hand_are_created_again_by_the_next_attempt()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(WarehouseTestBed.Snowflake);
        await bed.IngestAsync(WarehouseTestBed.Order("o-1", T0));
        foreach (var table in await bed.SnowflakeDouble!.QueryAsync("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'ECOMMERCE_%'"))
        {
            await bed.SnowflakeDouble.QueryAsync($"DROP TABLE {table[0]}");
        }

        await Assert.ThrowsAsync<SnowflakeException>(() => bed.IngestAsync(WarehouseTestBed.Order("o-2", T0.AddDays(1))));
        await bed.IngestAsync(WarehouseTestBed.Order("o-2", T0.AddDays(1)));

        Assert.Equal(2L, await bed.CountAsync("FACT_ORDERS"));
    }

    private SnowflakeSqlApiClient Client(SnowflakeOptions? options = null)
    {
        options ??= _double.ClientOptions();
        options.Validate();
        _http?.Dispose();
        _http = SnowflakeSqlApiClient.CreateHttpClient(options);
        return new SnowflakeSqlApiClient(_http, options, SnowflakeCredentials.From(options, TimeProvider.System), TimeProvider.System, TestMeters.Shared, _log);
    }

    private async Task<long> CountAsync(string table) =>
        Convert.ToInt64((await _double.QueryAsync($"SELECT COUNT(*) FROM {table}"))[0][0], CultureInfo.InvariantCulture);

    /// <summary>Staged rows left once the clean-up after commit had time to run (at most ten seconds).</summary>
    private static async Task<long> StagedRowsSettledAsync(SnowflakeSqlApiDouble server)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (await StagedRowsAsync(server) is var left && left > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        return await StagedRowsAsync(server);
    }

    private static async Task<long> StagedRowsAsync(SnowflakeSqlApiDouble server)
    {
        var tables = await server.QueryAsync("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'ECOMMERCE_STAGE_%'");
        long total = 0;
        foreach (var table in tables)
        {
            total += Convert.ToInt64((await server.QueryAsync($"SELECT COUNT(*) FROM {table[0]}"))[0][0], CultureInfo.InvariantCulture);
        }

        return total;
    }
}

/// <summary>Keeps what a component logged, to check what it says (and what it must never say).</summary>
public sealed class CapturingLogger<T> : ILogger<T>
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();

    public IReadOnlyList<string> Messages => _messages.ToArray();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _messages.Enqueue(formatter(state, exception) + (exception is null ? "" : "\n" + exception));
}
