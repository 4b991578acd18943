using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DuckDB.NET.Data;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Consumer.Warehouse.Snowflake;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Ecommerce.Testing.Snowflake;

/// <summary>
/// A TEST DOUBLE of Snowflake's SQL API v2, not Snowflake. A loopback HTTP server that checks what a real account
/// checks (the key-pair JWT's signature against its test public key, its claims, the headers, the request body),
/// answers in the API's formats (200 with partitioned results, 202 then polling, 422 with Snowflake's codes, 429
/// and 503 on demand, connections dropped on demand) and really runs the statements on an in-memory DuckDB, so
/// that data lands and can be checked. It is as strict as the documentation where it can be: no bind variables in
/// a multi-statement request, MULTI_STATEMENT_COUNT enforced, an open transaction rolled back when the request ends,
/// a resubmission with <c>retry=true</c> answered from the first execution instead of running again.
/// Anything the client does that the API would refuse or that looks wrong is also kept in <see cref="Violations"/>.
/// </summary>
public sealed partial class SnowflakeSqlApiDouble : IAsyncDisposable
{
    public const string Account = "TESTORG-TESTACCOUNT";
    public const string User = "INGEST_SVC";
    public const string Database = "ECOMMERCE";
    public const string Schema = "PUBLIC";
    public const string Warehouse = "INGEST_WH";

    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    private readonly WebApplication _app;
    private readonly RSA _key = RSA.Create(2048);
    private readonly DuckDBConnection _database = new("Data Source=:memory:");
    private readonly SemaphoreSlim _databaseLock = new(1, 1);
    private readonly ConcurrentBag<DuckDBConnection> _idleBesideConnections = []; // For appends run beside the others.
    private readonly CancellationTokenSource _stopping = new();
    private readonly JsonWebTokenHandler _tokens = new();
    private readonly ConcurrentQueue<(SnowflakeFault Fault, Func<RecordedRequest, bool> AppliesTo)> _faults = new();
    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _heldRan = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, StoredAnswer> _byRequestId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StoredAnswer> _byHandle = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentQueue<(string? QueryTag, string Message)> _failures = new();
    private readonly ConcurrentQueue<StatementRun> _runs = new();
    private readonly ConcurrentDictionary<string, TimeSpan> _databaseWaits = new(StringComparer.Ordinal);
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly SnowflakeSessions _sessions;
    private int _statementsRun;
    private int _appendsRunBeside;
    private string? _databaseHolder; // The request that took the database lock last, for a disposal that finds it held.
    private int _appendsRunningBeside;
    private int _appendsHeld;

    private SnowflakeSqlApiDouble()
    {
        _database.Open();
        _sessions = new SnowflakeSessions(_database, () => _clock.Elapsed, _violations.Enqueue);
        using (var functions = _database.CreateCommand())
        {
            // Snowflake's functions for reading JSON row sets, in DuckDB's words: GET of an array element (as text: the
            // client sends every value as a string; FLATTEN below has made each row a list of texts, 1-based), and
            // TO_TIMESTAMP_NTZ of a number at a scale (0 seconds ... 9 ns).
            functions.CommandText = """
                CREATE MACRO GET(v, i) AS list_extract(v, CAST(i AS BIGINT) + 1);
                CREATE MACRO TO_TIMESTAMP_NTZ(n, s) AS make_timestamp(CAST(CAST(n AS HUGEINT) * 1000000
                    // [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000][s + 1] AS BIGINT));
                """;
            functions.ExecuteNonQuery();
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapPost("/api/v2/statements", context => Guarded(context, SubmitAsync(context)));
        _app.MapGet("/api/v2/statements/{handle}", (HttpContext context, string handle) => Guarded(context, StatusAsync(context, handle)));
        _app.MapPost("/api/v2/statements/{handle}/cancel", (HttpContext context, string handle) => Guarded(context, CancelAsync(context, handle)));
    }

    /// <summary>Where the client should send its requests (Snowflake:BaseUrl).</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The private key whose public half the double trusts, as an unencrypted PKCS#8 PEM.</summary>
    public string PrivateKeyPem => _key.ExportPkcs8PrivateKeyPem();

    /// <summary>The fingerprint the double expects in the JWT's issuer, as <c>DESC USER</c> would show it.</summary>
    public string PublicKeyFingerprint => KeyPairCredentials.Fingerprint(_key);

    /// <summary>A token the double accepts as a programmatic access token, when set.</summary>
    public string? ProgrammaticAccessToken { get; set; }

    /// <summary>Rows per result partition; small values make the client fetch several.</summary>
    public int RowsPerPartition
    {
        get => _rowsPerPartition;
        set => _rowsPerPartition = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "A partition holds at least one row.");
    }

    private int _rowsPerPartition = 1_000;

    /// <summary>While true, every request is answered 503, as during an outage of the service.</summary>
    public bool Unavailable { get; set; }

    /// <summary>
    /// Time Snowflake itself spends on each statement (queueing, compiling, running), which the real service costs and
    /// an in-memory database does not: off unless set (functional tests leave it off; the benchmark sets it). It counts
    /// per statement, also inside a multi-statement request, whose statements run one after another. Requests of
    /// different sessions wait theirs out at the same time, as on a warehouse with capacity to spare; transactions that
    /// change the same table with UPDATE, DELETE or MERGE queue behind each other from that statement to their end, as
    /// Snowflake's table locks make them.
    /// </summary>
    public TimeSpan StatementLatency { get; set; }

    /// <summary>
    /// How many statements the warehouse spends its <see cref="StatementLatency"/> on at once; the others queue for a
    /// slot. Snowflake's MAX_CONCURRENCY_LEVEL is 8 by default, and its documentation calls it an upper boundary that
    /// protects against over-allocating resources rather than a limit on how many statements a cluster runs
    /// (docs.snowflake.com/en/sql-reference/parameters): a strict cap is its unkindest reading. Null (the default): no
    /// cap, as a warehouse with capacity to spare (or a multi-cluster one) behaves.
    /// </summary>
    public int? WarehouseConcurrency
    {
        get => _warehouseConcurrency;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value ?? 1, 1);
            _warehouseConcurrency = value;
            _warehouseSlots = value is { } slots ? new SemaphoreSlim(slots, slots) : null;
        }
    }

    private int? _warehouseConcurrency;
    private SemaphoreSlim? _warehouseSlots;
    private int _statementsInWarehouse;
    private int _mostStatementsInWarehouse;

    /// <summary>The most statements that spent their latency at once (for tests of the double).</summary>
    public int MostStatementsAtOnce => Volatile.Read(ref _mostStatementsInWarehouse);

    /// <summary>
    /// How long a commit stays invisible to statements of other sessions that were already running when it happened, as
    /// Snowflake's default read consistency allows (<see cref="SnowflakeSessions"/>): 50 ms unless set, so that every
    /// test and the benchmark meet it; 0 shows every commit at once.
    /// </summary>
    public TimeSpan ReadLag
    {
        get => _sessions.ReadLag;
        set => _sessions.ReadLag = value;
    }

    /// <summary>Statements that were served a view older than the database's current state, because of <see cref="ReadLag"/>.</summary>
    public int LaggedReads => _sessions.LaggedReads;

    /// <summary>Lagged reads' tables served as views of the rows before hidden appends, and as copies from a snapshot.</summary>
    public (int Views, int Copies) OlderViewsServed => (_sessions.ViewsServed, _sessions.CopiesServed);

    /// <summary>Requests whose session has started: from then on, what other sessions commit may be hidden from it.</summary>
    public int SessionsOpened => _sessions.SessionsOpened;

    /// <summary>Single INSERTs run outside the database lock, on a connection of their own (for tests of the double).</summary>
    public int AppendsRunBeside => Volatile.Read(ref _appendsRunBeside);

    /// <summary>
    /// For tests of the double: while set, an append run beside the others waits, between its INSERT and its commit,
    /// until this task completes (<see cref="AppendsHeldBeforeCommit"/> counts those that reached it).
    /// </summary>
    public Task? HoldAppendsBeforeCommit { get; set; }

    /// <summary>Appends that waited for <see cref="HoldAppendsBeforeCommit"/>.</summary>
    public int AppendsHeldBeforeCommit => Volatile.Read(ref _appendsHeld);

    /// <summary>
    /// When set, the error message of a failed multi-statement request is cut to this many characters, as Snowflake
    /// may cut the wrapped errors of its statement runner: a client must not need the end of the text.
    /// </summary>
    public int? MultiStatementErrorLimit { get; set; }

    /// <summary>Statements run on the database (a statement answered from a stored result is not run again).</summary>
    public int StatementsRun => Volatile.Read(ref _statementsRun);

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    /// <summary>Every submission run, with when it started and where its time went: for timelines in the benchmark.</summary>
    public IReadOnlyList<StatementRun> Runs => _runs.ToArray();

    /// <summary>Time since the double started, the clock of <see cref="Runs"/>.</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>Submissions that failed with a SQL error: the query tag they carried and Snowflake's message.</summary>
    public IReadOnlyList<(string? QueryTag, string Message)> Failures => _failures.ToArray();

    /// <summary>Things the client did that Snowflake would refuse or that break the API's contract; expected empty.</summary>
    public IReadOnlyList<string> Violations => _violations.ToArray();

    public static async Task<SnowflakeSqlApiDouble> StartAsync()
    {
        var server = new SnowflakeSqlApiDouble();
        await server._app.StartAsync();
        var address = server._app.Urls.First();
        server.BaseUrl = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    /// <summary>Settings a client needs to reach the double with key-pair authentication.</summary>
    public SnowflakeOptions ClientOptions(string? privateKeyPem = null) => new()
    {
        Account = Account.ToLowerInvariant(),
        User = User.ToLowerInvariant(),
        PrivateKey = privateKeyPem ?? PrivateKeyPem,
        Warehouse = Warehouse,
        Database = Database.ToLowerInvariant(), // Unquoted names are upper case in Snowflake; the client must send them so.
        Schema = Schema,
        Role = "INGEST_ROLE",
        BaseUrl = BaseUrl,
        RetryFor = TimeSpan.FromSeconds(20),
        RequestTimeout = TimeSpan.FromSeconds(20),
    };

    /// <summary>The same settings as environment variables of a consumer process.</summary>
    public (string Key, string? Value)[] ConsumerSettings(string privateKeyPath) =>
    [
        ("Warehouse__Provider", "Snowflake"),
        ("ConnectionStrings__warehouse", null),
        ("Snowflake__Account", Account.ToLowerInvariant()),
        ("Snowflake__User", User),
        ("Snowflake__PrivateKeyPath", privateKeyPath),
        ("Snowflake__Warehouse", Warehouse),
        ("Snowflake__Database", Database),
        ("Snowflake__Schema", Schema),
        ("Snowflake__BaseUrl", BaseUrl.ToString()),
    ];

    /// <summary>
    /// Makes the next statement submission for which <paramref name="appliesTo"/> holds meet <paramref name="fault"/>.
    /// Faults are met in the order they were injected: a fault waits until the ones before it have been met.
    /// </summary>
    public void Inject(SnowflakeFault fault, Func<RecordedRequest, bool>? appliesTo = null) => _faults.Enqueue((fault, appliesTo ?? (_ => true)));

    /// <summary>Faults injected and not met yet.</summary>
    public int PendingFaults => _faults.Count;

    /// <summary>Completes when a submission starts being held by a <see cref="SnowflakeFault.Hold"/>.</summary>
    public Task FirstHold => _held.Task;

    /// <summary>Completes when the first held submission has run.</summary>
    public Task FirstHoldRan => _heldRan.Task;

    /// <summary>Runs a query directly on the double's database, for assertions.</summary>
    public async Task<IReadOnlyList<object?[]>> QueryAsync(string sql, params object?[] parameters)
    {
        await _databaseLock.WaitAsync();
        try
        {
            using var command = _database.CreateCommand();
            command.CommandText = sql;
            foreach (var value in parameters)
            {
                command.Parameters.Add(new DuckDBParameter(value ?? DBNull.Value));
            }

            using var reader = command.ExecuteReader();
            var rows = new List<object?[]>();
            while (reader.Read())
            {
                var row = new object?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                }

                rows.Add(row);
            }

            return rows;
        }
        finally
        {
            _databaseLock.Release();
        }
    }

    /// <summary>How long disposal waits for requests still holding the database or an append's connection.</summary>
    private static readonly TimeSpan DisposalPatience = TimeSpan.FromMinutes(1);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        // Kestrel's stop waits for the requests in flight, up to its shutdown timeout; an append beside the others that
        // outlived it would still need the lock and its connection (a held one is let go).
        // Bounded, so that a leak fails the test that disposes the double, naming it, rather than hanging the run.
        var disposing = _clock.Elapsed;
        while (Volatile.Read(ref _appendsRunningBeside) > 0)
        {
            if (_clock.Elapsed - disposing > DisposalPatience)
            {
                throw new InvalidOperationException(
                    $"{Volatile.Read(ref _appendsRunningBeside)} append(s) run beside the database lock did not end within {DisposalPatience.TotalSeconds:N0} s of disposal; the double's violations: {string.Join(" | ", _violations)}");
            }

            await Task.Delay(10);
        }

        if (!await _databaseLock.WaitAsync(DisposalPatience))
        {
            throw new InvalidOperationException(
                $"the double's database lock was still held {DisposalPatience.TotalSeconds:N0} s into disposal, last taken by request {_databaseHolder}; the double's violations: {string.Join(" | ", _violations)}");
        }

        foreach (var connection in _idleBesideConnections)
        {
            connection.Dispose();
        }

        _database.Dispose();
        _databaseLock.Dispose();
        _stopping.Dispose();
        _sessions.Dispose();
        _key.Dispose();
    }

    /// <summary>A fault of the double itself is a failed test, not an HTTP 500 the client would retry.</summary>
    private async Task Guarded(HttpContext context, Task handler)
    {
        try
        {
            await handler;
        }
        catch (Exception ex) when (context.RequestAborted.IsCancellationRequested && ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            // The client went away before its answer (it was killed, or gave up on the attempt): nobody to tell.
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            if (!ex.Data.Contains(FaultRecorded))
            {
                _violations.Enqueue($"the double failed: {ex}");
            }

            if (!context.Response.HasStarted)
            {
                await AnswerAsync(context, 400, Error("000000", $"Test double failure: {ex.Message}", null, null));
            }
        }
    }

    private async Task SubmitAsync(HttpContext context)
    {
        var requestId = context.Request.Query["requestId"].ToString();
        var retry = context.Request.Query["retry"].ToString() == "true";
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var submission = TryRead(body);
        var statement = submission?["statement"]?.GetValue<string>() ?? "";
        var recorded = new RecordedRequest("POST", requestId, retry, statement, submission?["parameters"]?["QUERY_TAG"]?.GetValue<string>())
        {
            BodyBytes = Encoding.UTF8.GetByteCount(body),
        };
        _requests.Enqueue(recorded);
        if (!await AdmitAsync(context, requestId))
        {
            return;
        }

        var fault = NextFault(recorded);
        if (fault is SnowflakeFault.Status status)
        {
            if (status.RetryAfter is { } wait)
            {
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }

            await AnswerAsync(context, status.Code, UnavailableBody(status.Code));
            return;
        }

        if (fault is SnowflakeFault.DropBeforeRunning)
        {
            context.Abort();
            return;
        }

        if (fault is SnowflakeFault.Hold hold)
        {
            // The statement waits, then runs whether or not its client is still there, as in Snowflake, where a
            // statement keeps running when the connection that submitted it goes away.
            _held.TrySetResult();
            await Task.Delay(hold.Duration, CancellationToken.None);
        }

        StoredAnswer answer;
        if (_byRequestId.TryGetValue(requestId, out var earlier))
        {
            if (!retry)
            {
                _violations.Enqueue($"requestId {requestId} was submitted again without retry=true");
            }

            // Snowflake does not run a statement again when it is resubmitted with its requestId and retry=true.
            answer = retry && earlier.Status == 200 ? earlier : await RunRecordingFaultsAsync(submission);
        }
        else
        {
            answer = await RunRecordingFaultsAsync(submission);
        }

        if (answer.Status == 422)
        {
            _failures.Enqueue((recorded.QueryTag, answer.Body["message"]?.GetValue<string>() ?? ""));
        }

        _byRequestId[requestId] = answer;
        if (fault is SnowflakeFault.Hold)
        {
            _heldRan.TrySetResult();
        }
        if (fault is SnowflakeFault.DropAfterRunning)
        {
            context.Abort();
            return;
        }

        if (fault is SnowflakeFault.RunAsynchronously slow && answer.Status == 200)
        {
            answer.PollsBeforeDone = slow.Polls;
            await AnswerAsync(context, 202, StillRunning(answer.Handle));
            return;
        }

        await AnswerAsync(context, answer.Status, answer.Body);
    }

    private async Task StatusAsync(HttpContext context, string handle)
    {
        var partition = context.Request.Query["partition"].ToString();
        var recorded = new RecordedRequest("GET", handle, false, partition, null);
        _requests.Enqueue(recorded);
        if (!await AdmitAsync(context, null))
        {
            return;
        }

        switch (NextFault(recorded))
        {
            case SnowflakeFault.Status status:
                await AnswerAsync(context, status.Code, UnavailableBody(status.Code));
                return;
            case SnowflakeFault.DropBeforeRunning or SnowflakeFault.DropAfterRunning:
                context.Abort();
                return;
        }

        if (!_byHandle.TryGetValue(handle, out var answer))
        {
            await AnswerAsync(context, 422, Error("000709", $"Statement {handle} not found", "02000", handle));
            return;
        }

        if (Interlocked.Decrement(ref answer.PollsBeforeDone) >= 0)
        {
            await AnswerAsync(context, 202, StillRunning(handle));
            return;
        }

        if (partition.Length == 0 || partition == "0")
        {
            await AnswerAsync(context, answer.Status, answer.Body);
            return;
        }

        var number = int.Parse(partition, CultureInfo.InvariantCulture);
        if (number >= answer.Partitions.Count)
        {
            await AnswerAsync(context, 400, Error("391922", $"Partition {number} is out of range.", null, handle));
            return;
        }

        // Later partitions come compressed and carry only their rows, as from the real service.
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.Headers.ContentEncoding = "gzip";
        await using var gzip = new GZipStream(context.Response.Body, CompressionLevel.Fastest, leaveOpen: true);
        await gzip.WriteAsync("{\"data\":"u8.ToArray());
        await gzip.WriteAsync(answer.Partitions[number].Json);
        await gzip.WriteAsync("}"u8.ToArray());
    }

    /// <summary>
    /// What every request goes through before it is served: the outage switch, authentication, then the headers
    /// and request id. False when the request has already been answered with a refusal.
    /// </summary>
    private async Task<bool> AdmitAsync(HttpContext context, string? requestId)
    {
        if (await RefuseAsync(context))
        {
            return false;
        }

        if (!CheckRequest(context, requestId, out var problem))
        {
            await AnswerAsync(context, 400, Error("390142", problem!, null, null));
            return false;
        }

        return true;
    }

    /// <summary>A statement still "running" is cancelled: polling it then answers 422 000604, as Snowflake does.</summary>
    private async Task CancelAsync(HttpContext context, string handle)
    {
        _requests.Enqueue(new RecordedRequest("CANCEL", handle, false, "", null));
        if (!await AdmitAsync(context, null))
        {
            return;
        }

        if (_byHandle.TryGetValue(handle, out var answer) && Volatile.Read(ref answer.PollsBeforeDone) > 0)
        {
            _byHandle[handle] = Failed(422, "000604", "SQL execution canceled", "57014", handle);
        }

        await AnswerAsync(context, 200, Error("000604", "SQL execution canceled", "57014", handle));
    }

    /// <summary>Outage, then authentication: true when the request has been answered with a refusal.</summary>
    private async Task<bool> RefuseAsync(HttpContext context)
    {
        if (Unavailable)
        {
            await AnswerAsync(context, 503, UnavailableBody(503));
            return true;
        }

        var authorization = context.Request.Headers.Authorization.ToString();
        var type = context.Request.Headers["X-Snowflake-Authorization-Token-Type"].ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            _violations.Enqueue("a request came without a bearer token");
            await AnswerAsync(context, 400, Error("390146", "Authorization header is missing.", null, null));
            return true;
        }

        var token = authorization["Bearer ".Length..];
        var accepted = type switch
        {
            "KEYPAIR_JWT" => await ValidJwtAsync(token),
            "PROGRAMMATIC_ACCESS_TOKEN" => ProgrammaticAccessToken is { } pat && token == pat,
            _ => false,
        };
        if (!accepted)
        {
            await AnswerAsync(context, 401, Error("390144", $"JWT token is invalid. [{Guid.NewGuid()}]", null, null));
            return true;
        }

        return false;
    }

    private async Task<bool> ValidJwtAsync(string token)
    {
        var expectedSubject = $"{Account}.{User}";
        var result = await _tokens.ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = new RsaSecurityKey(_key.ExportParameters(false)),
            ValidIssuer = $"{expectedSubject}.{PublicKeyFingerprint}",
            ValidateAudience = false,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
        });
        if (!result.IsValid)
        {
            return false;
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        if (jwt.Subject != expectedSubject)
        {
            _violations.Enqueue($"JWT subject is '{jwt.Subject}', expected '{expectedSubject}'");
            return false;
        }

        if (!jwt.TryGetPayloadValue<long>("iat", out var issuedAt) || jwt.ValidTo - DateTime.UnixEpoch.AddSeconds(issuedAt) > TimeSpan.FromHours(1))
        {
            _violations.Enqueue("JWT has no iat or lives longer than an hour");
            return false;
        }

        return true;
    }

    private bool CheckRequest(HttpContext context, string? requestId, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(context.Request.Headers.UserAgent))
        {
            problem = "A User-Agent header is required.";
        }
        else if (!context.Request.Headers.Accept.ToString().Contains("application/json", StringComparison.Ordinal))
        {
            problem = "The Accept header must allow application/json.";
        }
        else if (requestId is not null && !Guid.TryParse(requestId, out _))
        {
            problem = $"requestId '{requestId}' is not a UUID.";
        }
        else if (requestId is not null && context.Request.ContentType?.StartsWith("application/json", StringComparison.Ordinal) != true)
        {
            problem = "Content-Type must be application/json.";
        }

        if (problem is not null)
        {
            _violations.Enqueue(problem);
            return false;
        }

        return true;
    }

    private SnowflakeFault? NextFault(RecordedRequest request)
    {
        // Only the fault at the head of the queue is considered, so faults meet requests in the order they were set.
        if (_faults.TryPeek(out var head) && head.AppliesTo(request) && _faults.TryDequeue(out var taken))
        {
            return taken.Fault;
        }

        return null;
    }

    /// <summary>Marks an exception <see cref="RunRecordingFaultsAsync"/> recorded as a violation already, for <see cref="Guarded"/>.</summary>
    private const string FaultRecorded = "Ecommerce.Testing.FaultRecorded";

    /// <summary>
    /// <see cref="RunAsync"/>, with any failure of the double itself (not a statement's failure, which is an answer)
    /// recorded as a violation where it happens: <see cref="Guarded"/> says nothing about an exception once the client
    /// has gone, and a client that gave up on a request stuck behind a broken double is just when one would be missed.
    /// </summary>
    private async Task<StoredAnswer> RunRecordingFaultsAsync(JsonNode? request)
    {
        try
        {
            return await RunAsync(request);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _violations.Enqueue($"the double failed running a statement: {ex}");
            ex.Data[FaultRecorded] = true; // So that Guarded does not record it again.
            throw;
        }
    }

    /// <summary>
    /// Runs a submission on the database and keeps its answer under a new statement handle. Each statement first
    /// takes the table lock it needs (<see cref="SnowflakeSessions"/>), then spends its <see cref="StatementLatency"/>;
    /// the request's effect is applied when its last statement's time is up, with every statement seeing the database
    /// as a session started on the request's arrival would. Locks are held until then.
    /// </summary>
    private async Task<StoredAnswer> RunAsync(JsonNode? request)
    {
        var handle = Guid.NewGuid().ToString();
        var statements = SqlText.SplitStatements(request?["statement"]?.GetValue<string>() ?? "");
        var session = _sessions.Open(handle);
        var started = session.Started;
        var held = new Dictionary<string, SemaphoreSlim>(StringComparer.OrdinalIgnoreCase);
        TimeSpan? locked = null;
        var times = new TimeSpan[statements.Count];
        try
        {
            for (var i = 0; i < Math.Max(1, statements.Count); i++)
            {
                if (i < statements.Count && SnowflakeSessions.LockedTable(statements[i]) is { } table)
                {
                    await _sessions.AcquireAsync(table, held);
                    locked ??= _clock.Elapsed;
                }
                else if (i < statements.Count && SnowflakeSessions.InsertedTable(statements[i]) is { } appended)
                {
                    await _sessions.WaitUntilUnlockedAsync(appended, held);
                }

                if (i < statements.Count)
                {
                    times[i] = _clock.Elapsed;
                }

                if (StatementLatency > TimeSpan.Zero)
                {
                    await SpendLatencyAsync();
                }
            }

            var executing = _clock.Elapsed;
            var answer = await ExecuteAsync(request, handle, session, times);
            // Recorded before the answer can be fetched, so a client that has its answer finds the run in Runs.
            _runs.Enqueue(new StatementRun(
                request?["parameters"]?["QUERY_TAG"]?.GetValue<string>(), StatementRun.KindOf(statements), Math.Max(1, statements.Count),
                started, (locked ?? started) - started, executing - (locked ?? started), _clock.Elapsed - executing, answer.Status == 200)
            {
                DatabaseWait = _databaseWaits.TryRemove(handle, out var wait) ? wait : TimeSpan.Zero,
                Opening = statements.Count == 0 ? "" : Opening(statements[0]),
            });
            _byHandle[handle] = answer;
            return answer;
        }
        finally
        {
            _sessions.Forget(handle);
            SnowflakeSessions.Release(held);
        }
    }

    /// <summary>The first 70 characters of a statement, on one line.</summary>
    private static string Opening(string statement)
    {
        var text = statement.Trim();
        return text[..Math.Min(70, text.Length)].ReplaceLineEndings(" ");
    }

    /// <summary>One statement's <see cref="StatementLatency"/>, in a slot of the warehouse when <see cref="WarehouseConcurrency"/> caps them.</summary>
    private async Task SpendLatencyAsync()
    {
        var slots = _warehouseSlots;
        if (slots is not null)
        {
            await slots.WaitAsync();
        }

        try
        {
            var running = Interlocked.Increment(ref _statementsInWarehouse);
            for (var most = Volatile.Read(ref _mostStatementsInWarehouse); running > most; most = Volatile.Read(ref _mostStatementsInWarehouse))
            {
                Interlocked.CompareExchange(ref _mostStatementsInWarehouse, running, most);
            }

            await WaitUntilAsync(_clock.Elapsed + StatementLatency);
        }
        finally
        {
            Interlocked.Decrement(ref _statementsInWarehouse);
            slots?.Release();
        }
    }

    /// <summary>Waits until the double's clock reads <paramref name="due"/>: never less (a timer may fire a little early).</summary>
    private async Task WaitUntilAsync(TimeSpan due)
    {
        for (var left = due - _clock.Elapsed; left > TimeSpan.Zero; left = due - _clock.Elapsed)
        {
            await Task.Delay(left + TimeSpan.FromMilliseconds(1));
        }
    }

    private async Task<StoredAnswer> ExecuteAsync(JsonNode? request, string handle, SnowflakeSessions.Session session, TimeSpan[] times)
    {
        if (request?["statement"]?.GetValue<string>() is not { Length: > 0 } text)
        {
            return Failed(400, "390142", "Incoming request does not contain a valid payload.", null, handle);
        }

        foreach (var (field, wanted) in new[] { ("warehouse", Warehouse), ("database", Database), ("schema", Schema) })
        {
            if (request[field]?.GetValue<string>() != wanted)
            {
                _violations.Enqueue($"a statement was submitted with {field} '{request[field]}', expected '{wanted}'");
            }
        }

        var statements = SqlText.SplitStatements(text, keepEmpty: true);
        if (statements.Any(s => s.Length == 0))
        {
            _violations.Enqueue("a request held an empty statement (';;')");
            return Failed(422, "000900", "Empty SQL statement.", "42000", handle);
        }

        var expected = request["parameters"]?["MULTI_STATEMENT_COUNT"]?.GetValue<string>() is { } count ? int.Parse(count, CultureInfo.InvariantCulture) : 1;
        if (expected != 0 && expected != statements.Count)
        {
            return Failed(422, "000008", $"Actual statement count {statements.Count} did not match the desired statement count {expected}.", "0A000", handle);
        }

        var bindings = request["bindings"] as JsonObject;
        if (statements.Count > 1 && bindings is { Count: > 0 })
        {
            _violations.Enqueue("bind variables were sent with a multi-statement request");
            return Failed(422, "002049", "Bind variables are not supported in a multi-statement request.", "0A000", handle);
        }

        List<object?> values;
        try
        {
            values = Bindings(bindings);
        }
        catch (FormatException ex)
        {
            return Failed(422, "100037", ex.Message, "22018", handle);
        }

        var translated = statements.Select(Translate).ToArray();
        if (translated is [var single] && SnowflakeSessions.AppendsReadingNoTable(single))
        {
            return await AppendBesideAsync(single, values, handle, session);
        }

        await WaitForDatabaseAsync(handle);
        var inTransaction = false;
        try
        {
            var next = 0;
            var abortOnError = false;
            EncodedRows? result = null;
            for (var i = 0; i < statements.Count; i++)
            {
                abortOnError |= AbortOnError().IsMatch(statements[i]);
                var sql = translated[i];
                var begins = IsBegin(sql);
                SnowflakeSessions.Shadow[] shadowed = [];
                try
                {
                    using var command = BoundCommand(_database, sql, values, next);
                    shadowed = session.Prepare(sql, i < times.Length ? times[i] : _clock.Elapsed);
                    next += command.Parameters.Count;
                    using (var reader = command.ExecuteReader())
                    {
                        inTransaction |= begins; // At once: whatever fails from here on must end it.
                        Interlocked.Increment(ref _statementsRun);
                        if (i == 0 && statements.Count == 1)
                        {
                            result = Encode(reader); // A multi-statement request answers with its own summary, below.
                        }
                    }

                    session.Ran(sql, inTransaction && !begins);
                    if (IsCommit(sql))
                    {
                        inTransaction = false;
                        session.Committed();
                    }
                    else if (IsRollback(sql))
                    {
                        inTransaction = false;
                        session.RolledBack();
                    }
                }
                catch (Exception ex) when (ex is DuckDBException or InvalidOperationException)
                {
                    if (inTransaction)
                    {
                        if (!abortOnError)
                        {
                            // Snowflake rolls back the failed statement only; the transaction stays open, holding its locks,
                            // until someone ends it (sql-reference/transactions, "Failed statements within a transaction";
                            // an abandoned one that blocks others is aborted after about 5 minutes).
                            _violations.Enqueue(
                                $"a statement failed inside a transaction whose session did not set TRANSACTION_ABORT_ON_ERROR: Snowflake leaves such a transaction open, with its locks ({Abbreviate(statements[i])})");
                        }

                        inTransaction = false;
                        RollBack(session);
                    }

                    // In a multi-statement request Snowflake reports the failing statement through its runner, and the
                    // statements after it do not run (developer-guide/sql-api/submitting-multiple-statements).
                    var wrapped = $"JavaScript execution error: Uncaught Execution of multiple statements failed on statement \"{Abbreviate(statements[i])}\" (at line 1, position 0).\n{ex.Message} in SYSTEM$MULTISTMT";
                    return statements.Count > 1
                        ? Failed(422, "100132", MultiStatementErrorLimit is { } limit && wrapped.Length > limit ? wrapped[..limit] : wrapped, "P0000", handle)
                        : StatementFailed(ex, handle);
                }
                finally
                {
                    session.Unshadow(shadowed);
                }
            }

            if (inTransaction)
            {
                // The request is a session of its own: what it left uncommitted goes with it.
                inTransaction = false;
                RollBack(session);
            }

            if (statements.Count > 1)
            {
                result = new EncodedRows(
                    [Column("multiple statement execution", "text", null, null)], 1,
                    [new ResultPartition("[[\"Multiple statements executed successfully.\"]]"u8.ToArray(), 1)]);
            }

            return Succeeded(handle, result!, statements.Count > 1 ? statements.Select(_ => Guid.NewGuid().ToString()).ToArray() : null);
        }
        finally
        {
            try
            {
                if (inTransaction)
                {
                    // Only an exception the loop does not expect leaves one open (the request fails as a fault of the
                    // double); the next request must not run inside it.
                    RollBack(session);
                }
            }
            finally
            {
                ReleaseDatabase(session);
            }
        }
    }

    /// <summary>
    /// A request of one INSERT that only appends rows and reads no table (a landing, a staged row set: rows from a bind
    /// variable) runs on a connection of its own, outside the double's database lock, beside whatever else runs: Snowflake
    /// runs INSERTs side by side (sql-reference/transactions, "Resource locking": they "often can run in parallel with
    /// other INSERT and COPY operations"), and on the one locked database they queued behind each other, so that the
    /// double, not the rules, limited how fast several processes could land. Only its commit takes the lock, after the
    /// snapshot of the database before it that other sessions' lagged reads need: every commit still happens under the
    /// lock, so what each session sees is decided as for a request run under it. Appends from concurrent DuckDB
    /// transactions do not conflict (<see cref="Translate"/> drops the primary keys, the only constraints two appends
    /// could conflict on) and take their row ids at commit, in commit order, as the lagged reads' views of appended
    /// tables assume.
    /// </summary>
    private async Task<StoredAnswer> AppendBesideAsync(string sql, List<object?> values, string handle, SnowflakeSessions.Session session)
    {
        // It reads nothing, so no commit needs keeping for it (the horizon of SnowflakeSessions.Record).
        _sessions.Forget(handle);
        Interlocked.Increment(ref _appendsRunningBeside);
        DuckDBConnection? connection = null;
        var open = false;
        try
        {
            connection = _idleBesideConnections.TryTake(out var idle) ? idle : OpenBesideConnection();
            EncodedRows result;
            try
            {
                using var command = BoundCommand(connection, sql, values, first: 0);
                SnowflakeSessions.Execute(connection, "BEGIN TRANSACTION");
                open = true;
                using (var reader = command.ExecuteReader())
                {
                    Interlocked.Increment(ref _statementsRun);
                    result = Encode(reader);
                }

                if (HoldAppendsBeforeCommit is { } hold)
                {
                    Interlocked.Increment(ref _appendsHeld);
                    await hold.WaitAsync(_stopping.Token); // A double disposed meanwhile lets it go.
                }
            }
            catch (Exception ex) when (ex is DuckDBException or InvalidOperationException or OperationCanceledException)
            {
                // OperationCanceledException: a held append let go at disposal.
                return StatementFailed(ex, handle);
            }

            await WaitForDatabaseAsync(handle);
            try
            {
                session.KeepDatabaseBefore();
                // A table dropped or altered on the main connection since the INSERT fails the commit, as it would fail
                // the INSERT of a request run under the lock; DuckDB has then ended the transaction.
                open = false;
                SnowflakeSessions.Execute(connection, "COMMIT");
                session.Ran(sql, inTransaction: false);
                Interlocked.Increment(ref _appendsRunBeside);
                return Succeeded(handle, result, null);
            }
            catch (DuckDBException ex)
            {
                return StatementFailed(ex, handle);
            }
            finally
            {
                ReleaseDatabase(session);
            }
        }
        finally
        {
            try
            {
                if (connection is not null)
                {
                    ReturnBesideConnection(connection, rollBack: open);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _appendsRunningBeside); // Disposal waits for it to reach zero.
            }
        }
    }

    /// <summary>Back to the pool, after rolling back what <paramref name="rollBack"/> says is open; closed if that fails.</summary>
    private void ReturnBesideConnection(DuckDBConnection connection, bool rollBack)
    {
        try
        {
            if (rollBack)
            {
                SnowflakeSessions.Execute(connection, "ROLLBACK");
            }

            _idleBesideConnections.Add(connection);
        }
        catch (DuckDBException)
        {
            // Whatever it holds, no later append may find it.
            connection.Dispose();
        }
    }

    /// <summary>
    /// <paramref name="sql"/> on <paramref name="connection"/>, its placeholders bound in order to the request's bind
    /// variables from number <paramref name="first"/> (0-based) on; throws when the request has too few.
    /// </summary>
    private static DuckDBCommand BoundCommand(DuckDBConnection connection, string sql, List<object?> values, int first)
    {
        var placeholders = SqlText.CountPlaceholders(sql);
        if (first + placeholders > values.Count)
        {
            throw new InvalidOperationException($"Bind variable {first + placeholders} not set.");
        }

        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var value in values.Skip(first).Take(placeholders))
        {
            command.Parameters.Add(new DuckDBParameter(value ?? DBNull.Value));
        }

        return command;
    }

    private DuckDBConnection OpenBesideConnection()
    {
        var connection = _database.Duplicate();
        connection.Open();
        return connection;
    }

    /// <summary>Records what the request's session committed and lets the database go, whatever the record does.</summary>
    private void ReleaseDatabase(SnowflakeSessions.Session session)
    {
        try
        {
            session.End();
        }
        finally
        {
            // A lock kept after a failed record hangs every later request and the double's disposal (it happened).
            _databaseLock.Release();
        }
    }

    /// <summary>Takes the double's database lock, noting how long the request waited for it.</summary>
    private async Task WaitForDatabaseAsync(string handle)
    {
        var waitStarted = _clock.Elapsed;
        await _databaseLock.WaitAsync();
        _databaseHolder = handle;
        _databaseWaits[handle] = _clock.Elapsed - waitStarted;
    }

    /// <summary>A single statement's failure, as Snowflake answers it (a missing table has its own code).</summary>
    private static StoredAnswer StatementFailed(Exception ex, string handle)
    {
        var missing = ex.Message.Contains("does not exist", StringComparison.OrdinalIgnoreCase);
        return Failed(422, missing ? "002003" : "001003", $"SQL compilation error: {ex.Message}", missing ? "42S02" : "42000", handle);
    }

    /// <summary>
    /// Snowflake's meaning in DuckDB's words: TRANSIENT tables are plain tables here, and primary keys are
    /// dropped because Snowflake accepts but never enforces them: a duplicate row must land as a duplicate, for the
    /// tests to see it, instead of failing with a constraint error Snowflake would never raise.
    /// </summary>
    private static string Translate(string sql)
    {
        if (AlterSession().IsMatch(sql))
        {
            // Session parameters change nothing on the double's database; the answer is Snowflake's.
            return "SELECT 'Statement executed successfully.' AS status";
        }

        // TIMESTAMP_NTZ is what the schema's TIMESTAMP means here (no time zone, UTC values).
        sql = TimestampNtz().Replace(sql, "TIMESTAMP");

        // The rows of a JSON array, one per row, in a column VALUE (FLATTEN's other columns are not used). The text is
        // parsed once, into a list of rows each a list of texts (the client sends arrays of strings and nulls), so that
        // GET is a list look-up rather than a JSON path read of the row per column: the double's database spent most of a
        // landing reading JSON. DuckDB reads whole numbers as DECIMAL(38,0) many times slower than as HUGEINT, which holds
        // the same values.
        sql = FlattenJson().Replace(sql, "(SELECT unnest(from_json(CAST(? AS VARCHAR), '[[\"VARCHAR\"]]')) AS VALUE)");
        sql = sql.Replace("AS DECIMAL(38,0))", "AS HUGEINT)", StringComparison.Ordinal);
        if (!CreateTable().IsMatch(sql))
        {
            return sql;
        }

        sql = sql.Replace("CREATE TRANSIENT TABLE", "CREATE TABLE", StringComparison.OrdinalIgnoreCase);
        sql = PrimaryKeyConstraint().Replace(sql, "");
        return PrimaryKeyColumn().Replace(sql, "");
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*ALTER\s+SESSION\s+SET\s+(TIMESTAMP_TYPE_MAPPING\s*=\s*'TIMESTAMP_NTZ'|TRANSACTION_ABORT_ON_ERROR\s*=\s*TRUE)\s*$", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex AlterSession();

    [System.Text.RegularExpressions.GeneratedRegex(@"TABLE\(FLATTEN\(INPUT\s*=>\s*PARSE_JSON\(\?\)\)\)", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex FlattenJson();

    [System.Text.RegularExpressions.GeneratedRegex(@"\bTIMESTAMP_NTZ\b", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex TimestampNtz();

    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*(--[^\n]*\n\s*)*CREATE\s+(TRANSIENT\s+)?TABLE\b", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex CreateTable();

    [System.Text.RegularExpressions.GeneratedRegex(@",\s*PRIMARY\s+KEY\s*\([^)]*\)", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex PrimaryKeyConstraint();

    [System.Text.RegularExpressions.GeneratedRegex(@"\s+PRIMARY\s+KEY\b", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex PrimaryKeyColumn();

    private static bool IsBegin(string sql) => sql.TrimStart().StartsWith("BEGIN", StringComparison.OrdinalIgnoreCase);

    private static bool IsCommit(string sql) => EndOfTransaction().Match(sql) is { Success: true } m && m.Groups["end"].Value.Equals("COMMIT", StringComparison.OrdinalIgnoreCase);

    private static bool IsRollback(string sql) => EndOfTransaction().Match(sql) is { Success: true } m && m.Groups["end"].Value.Equals("ROLLBACK", StringComparison.OrdinalIgnoreCase);

    /// <summary>COMMIT or ROLLBACK, with Snowflake's optional WORK (sql-reference/sql/commit, .../rollback), after any comments.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^" + SnowflakeSessions.LeadingComments + @"(?<end>COMMIT|ROLLBACK)(\s+WORK)?\s*$", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.Singleline)]
    private static partial System.Text.RegularExpressions.Regex EndOfTransaction();

    /// <summary>
    /// Ends the request's transaction without its changes. A COMMIT that failed has ended it already in DuckDB, and the
    /// ROLLBACK then finds none: that is the statement's failure, answered as such, not a fault of the double.
    /// </summary>
    private void RollBack(SnowflakeSessions.Session session)
    {
        try
        {
            using var rollback = _database.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            rollback.ExecuteNonQuery();
        }
        catch (DuckDBException ex) when (ex.Message.Contains("no transaction is active", StringComparison.OrdinalIgnoreCase))
        {
        }

        session.RolledBack();
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*ALTER\s+SESSION\s+SET\s+TRANSACTION_ABORT_ON_ERROR\s*=\s*TRUE\s*$", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex AbortOnError();

    /// <summary>
    /// Bind variables in their documented text forms, turned into values for DuckDB. The documentation
    /// (developer-guide/sql-api/submitting-requests) says a value must be a string and lists FIXED for fixed-point
    /// numbers with integers as its examples; a value that is not a string, or a FIXED value with a fraction, is
    /// something it does not promise to accept, so the double takes note of it.
    /// </summary>
    private List<object?> Bindings(JsonObject? bindings)
    {
        var values = new List<object?>();
        for (var n = 1; bindings is not null && n <= bindings.Count; n++)
        {
            var binding = bindings[n.ToString(CultureInfo.InvariantCulture)] ?? throw new FormatException($"Bind variable {n} is missing.");
            var type = binding["type"]?.GetValue<string>() ?? throw new FormatException($"Bind variable {n} has no type.");
            if (binding["value"] is not JsonValue value || value.GetValueKind() != JsonValueKind.String)
            {
                _violations.Enqueue($"bind variable {n} ({type}) has a value that is not a string: {binding["value"]?.ToJsonString() ?? "null"}");
                values.Add(null);
                continue;
            }

            var text = value.GetValue<string>();
            if (type == "FIXED" && !long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            {
                _violations.Enqueue($"bind variable {n} is FIXED with '{text}', which is not an integer");
            }

            values.Add(Parse(type, text));
        }

        return values;
    }

    private static object Parse(string type, string text)
    {
        try
        {
            return type switch
            {
                "TEXT" => text,
                "FIXED" when text.Contains('.', StringComparison.Ordinal) => decimal.Parse(text, NumberStyles.Number, CultureInfo.InvariantCulture),
                "FIXED" => long.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
                "REAL" => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
                "BOOLEAN" => text is "true" or "1" ? true : text is "false" or "0" ? false : throw new FormatException(),
                // DATE: milliseconds since the epoch; TIMESTAMP_NTZ/LTZ: nanoseconds since the epoch.
                "DATE" => DateOnly.FromDateTime(DateTime.UnixEpoch.AddMilliseconds(long.Parse(text, CultureInfo.InvariantCulture))),
                "TIMESTAMP_NTZ" or "TIMESTAMP_LTZ" => DateTime.UnixEpoch.AddTicks((long)(System.Numerics.BigInteger.Parse(text, CultureInfo.InvariantCulture) / 100)),
                _ => throw new FormatException($"Unsupported data type '{type}'."),
            };
        }
        catch (FormatException ex) when (!ex.Message.StartsWith("Unsupported", StringComparison.Ordinal))
        {
            throw new FormatException($"{type} value '{text}' is not recognized", ex);
        }
        catch (OverflowException ex)
        {
            throw new FormatException($"{type} value '{text}' is not recognized", ex);
        }
    }

    /// <summary>A result's columns, its number of rows, and its rows in partitions of at most <see cref="RowsPerPartition"/>.</summary>
    private sealed record EncodedRows(JsonArray RowType, int RowCount, List<ResultPartition> Partitions);

    /// <summary>One partition of a result: the JSON text (UTF-8) of its array of rows, and how many rows it holds.</summary>
    private sealed record ResultPartition(byte[] Json, int Rows);

    /// <summary>
    /// A DuckDB result in the API's jsonv2 form: lower-case Snowflake types and every value as text. Written straight to
    /// JSON text a partition at a time: a document of nodes for a 200,000-row result took most of the double's time under
    /// its database lock.
    /// </summary>
    private EncodedRows Encode(DuckDBDataReader reader)
    {
        var rowType = new JsonArray();
        var kinds = new string[reader.FieldCount];
        var scales = new int[reader.FieldCount];
        var schema = reader.FieldCount > 0 ? reader.GetSchemaTable() : null;
        for (var i = 0; i < reader.FieldCount; i++)
        {
            var name = reader.GetDataTypeName(i).ToUpperInvariant();
            (kinds[i], var precision, scales[i]) = name switch
            {
                "VARCHAR" => ("text", (int?)null, 0),
                "BOOLEAN" => ("boolean", null, 0),
                "DATE" => ("date", null, 0),
                "TIMESTAMP" or "TIMESTAMP_NS" or "TIMESTAMP_MS" => ("timestamp_ntz", null, 9),
                "DOUBLE" or "FLOAT" => ("real", null, 0),
                "DECIMAL" => ("fixed", 38, Convert.ToInt32(schema!.Rows[i]["NumericScale"], CultureInfo.InvariantCulture)),
                "TINYINT" or "SMALLINT" or "INTEGER" or "BIGINT" or "HUGEINT" or "UTINYINT" or "USMALLINT" or "UINTEGER" or "UBIGINT" => ("fixed", 38, 0),
                _ => ("text", null, 0),
            };
            rowType.Add(Column(reader.GetName(i).ToUpperInvariant(), kinds[i], precision, kinds[i] == "fixed" ? scales[i] : null));
        }

        var partitions = new List<ResultPartition>();
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer);
        var count = 0;
        var more = reader.Read();
        do
        {
            // Every answer has a first partition, empty if there are no rows.
            writer.WriteStartArray();
            var inPartition = 0;
            for (; more && inPartition < RowsPerPartition; inPartition++, count++, more = reader.Read())
            {
                writer.WriteStartArray();
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    if (reader.IsDBNull(i))
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        writer.WriteStringValue(Text(kinds[i], scales[i], reader.GetValue(i)));
                    }
                }

                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            writer.Flush();
            partitions.Add(new ResultPartition(buffer.WrittenSpan.ToArray(), inPartition));
            buffer.ResetWrittenCount();
            writer.Reset();
        }
        while (more);

        return new EncodedRows(rowType, count, partitions);
    }

    private static string Text(string kind, int scale, object value) => kind switch
    {
        "boolean" => (bool)value ? "true" : "false",
        "date" => (value is DateOnly date ? date.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber
            : (int)((DateTime)value - DateTime.UnixEpoch).TotalDays).ToString(CultureInfo.InvariantCulture),
        "timestamp_ntz" => EpochSeconds((DateTime)value),
        "fixed" when scale > 0 => Convert.ToDecimal(value, CultureInfo.InvariantCulture).ToString("F" + scale.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static string EpochSeconds(DateTime value)
    {
        var ticks = (value - DateTime.UnixEpoch).Ticks;
        var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var remainder);
        return $"{seconds.ToString(CultureInfo.InvariantCulture)}.{(remainder * 100).ToString("D9", CultureInfo.InvariantCulture)}";
    }

    private static JsonObject Column(string name, string type, int? precision, int? scale) => new()
    {
        ["name"] = name,
        ["type"] = type,
        ["precision"] = precision,
        ["scale"] = scale,
        ["length"] = type == "text" ? 16_777_216 : null,
        ["nullable"] = true,
    };

    private static StoredAnswer Succeeded(string handle, EncodedRows result, string[]? childHandles)
    {
        var partitions = result.Partitions;
        var body = new JsonObject
        {
            ["resultSetMetaData"] = new JsonObject
            {
                ["numRows"] = result.RowCount,
                ["format"] = "jsonv2",
                ["rowType"] = result.RowType,
                ["partitionInfo"] = new JsonArray(partitions.Select(p => (JsonNode)new JsonObject
                {
                    ["rowCount"] = p.Rows,
                    ["uncompressedSize"] = p.Json.Length,
                }).ToArray()),
            },
            ["data"] = JsonNode.Parse(partitions[0].Json),
            ["code"] = "090001",
            ["sqlState"] = "00000",
            ["message"] = "Statement executed successfully.",
            ["statementHandle"] = handle,
            ["statementStatusUrl"] = $"/api/v2/statements/{handle}",
            ["createdOn"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        if (childHandles is not null)
        {
            body["statementHandles"] = new JsonArray(childHandles.Select(h => (JsonNode)JsonValue.Create(h)).ToArray());
            // The API reference's multi-statement example counts rows that its summary does not carry (numRows 56090 beside
            // one row of data): such an answer's count is no promise about its data.
            var metadata = (JsonObject)body["resultSetMetaData"]!;
            metadata["numRows"] = childHandles.Length + 1;
            metadata["partitionInfo"]![0]!["rowCount"] = childHandles.Length + 1;
        }

        return new StoredAnswer(handle, 200, body, partitions);
    }

    private static StoredAnswer Failed(int status, string code, string message, string? sqlState, string handle) =>
        new(handle, status, Error(code, message, sqlState, handle), []);

    private static JsonObject Error(string code, string message, string? sqlState, string? handle)
    {
        var body = new JsonObject { ["code"] = code, ["message"] = message };
        if (sqlState is not null)
        {
            body["sqlState"] = sqlState;
        }

        if (handle is not null)
        {
            body["statementHandle"] = handle;
            body["statementStatusUrl"] = $"/api/v2/statements/{handle}";
        }

        return body;
    }

    /// <summary>The body of an injected 429 (Snowflake's "too many requests") or 5xx.</summary>
    private static JsonObject UnavailableBody(int status) =>
        status == 429 ? Error("390505", "Too many requests.", null, null) : Error("390400", "Service unavailable.", null, null);

    private static JsonObject StillRunning(string handle) => new()
    {
        ["code"] = "333334",
        ["message"] = "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.",
        ["statementHandle"] = handle,
        ["statementStatusUrl"] = $"/api/v2/statements/{handle}",
    };

    private static async Task AnswerAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(Compact));
    }

    private static JsonNode? TryRead(string body)
    {
        try
        {
            return JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Abbreviate(string sql)
    {
        var line = sql.ReplaceLineEndings(" ").Trim();
        return line.Length <= 60 ? line : line[..60] + "...";
    }

    /// <summary>The answer to one submission, kept for polling, partitions and resubmissions.</summary>
    private sealed class StoredAnswer(string handle, int status, JsonObject body, IReadOnlyList<ResultPartition> partitions)
    {
        public int PollsBeforeDone;

        public string Handle { get; } = handle;

        public int Status { get; } = status;

        public JsonObject Body { get; } = body;

        public IReadOnlyList<ResultPartition> Partitions { get; } = partitions;
    }
}
