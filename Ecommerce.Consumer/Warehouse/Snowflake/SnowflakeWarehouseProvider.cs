using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>
/// The production warehouse: Snowflake through its SQL API. Every value travels as a bind variable, never as
/// SQL text; a row set travels as one bind variable holding its rows as JSON (<see cref="SnowflakeRowSets"/>). The
/// API allows no bind variables in a multi-statement request, and each request is a session of its own, so a batch
/// is written in two steps:
/// <list type="number">
/// <item>its row sets are staged: bound <c>INSERT</c>s into transient staging tables, tagged with a batch id this
/// provider generated (several at once, each retry-safe through its requestId);</item>
/// <item>one multi-statement request: <c>TRANSACTION_ABORT_ON_ERROR</c> on; <c>BEGIN</c>; the batch's statements,
/// reading their row sets from the staging tables; <c>COMMIT</c>. All of it lands or none of it.
/// Its session starts after the staging requests have committed, so it sees their rows (a session sees everything
/// committed before it started: sql-reference/transactions, "Read consistency across sessions").</item>
/// </list>
/// Staged rows are deleted once their transaction has committed, by a request of their own that the next batch
/// does not wait for. When the outcome of a transaction is unknown (a timeout, a dropped connection) it may still
/// run later and must find its rows, so they stay; rows of batches that never committed expire after a day.
/// </summary>
public sealed class SnowflakeWarehouseProvider(SnowflakeSqlApiClient client, SnowflakeOptions options, TimeProvider time) : IWarehouseProvider
{
    public const string StagingTablePrefix = "ECOMMERCE_STAGE_";

    // No write lock of its own. UPDATE, DELETE and MERGE "hold locks that generally prevent them from running in parallel
    // with other UPDATE, DELETE, and MERGE statements" on the same table, to the end of their transaction
    // (docs.snowflake.com/en/sql-reference/transactions, "Resource locking"), and the batch's statements take those
    // locks in one order: a batch transaction starts with merge_offsets.sql (INGESTION_OFFSETS), a modelling one with
    // take_landed_rows.sql (LANDED_OUTCOMES); then, where they store orders, the facts' MERGE (FACT_ORDERS), the
    // versions' mark (DIM_CUSTOMER), the products' and the days' MERGEs. So two batch transactions take turns from their
    // first statement on, a batch and a modelling cycle from the facts on, and neither can wait for a table the other
    // holds while holding one it needs (no deadlock). Two writers cannot both insert one new key (Snowflake does not
    // enforce primary keys): the second MERGE waits for the first's commit and then works on the latest committed rows.
    // An UPDATE of a one-row lock table first thing, as this provider took before, rests on the same rule and cost
    // every batch a statement under the lock.

    private static readonly TimeSpan ExpiryInterval = TimeSpan.FromHours(1);

    /// <summary>
    /// Statements a batch runs at once when it stages or reads sliced row sets: a Snowflake warehouse runs eight
    /// statements at a time by default (MAX_CONCURRENCY_LEVEL) and queues the rest.
    /// </summary>
    private const int Parallelism = 8;

    private readonly ConcurrentDictionary<string, Lazy<Task>> _tablesReady = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _expiredAt = new(StringComparer.Ordinal);
    private readonly Lock _cleanupGate = new();
    private readonly List<(string BatchId, string[] Tables)> _toClean = [];
    private Task _cleanup = Task.CompletedTask;
    private int _checkTables;

    public string SystemName => "snowflake";

    /// <summary>Every request is a session of its own, which Snowflake runs beside the others.</summary>
    public bool PreparesBesideTransactions => true;

    /// <summary>
    /// Runs a script (the schema), first making the schema's <c>TIMESTAMP</c> mean <c>TIMESTAMP_NTZ</c> in its session
    /// whatever the account's <c>TIMESTAMP_TYPE_MAPPING</c> says: the star schema holds UTC wall-clock times.
    /// </summary>
    public async Task ExecuteScriptAsync(string script, CancellationToken cancellationToken)
    {
        var statements = SqlText.SplitStatements(script);
        if (statements.Count > 0)
        {
            statements = [TimestampMapping, .. statements];
            await client.ExecuteAsync(string.Join(";\n", statements), [], statements.Count, cancellationToken);
        }
    }

    private const string TimestampMapping = "ALTER SESSION SET TIMESTAMP_TYPE_MAPPING = 'TIMESTAMP_NTZ'";

    /// <summary>A column's type as this provider declares it: timestamps as TIMESTAMP_NTZ, whatever the account maps TIMESTAMP to.</summary>
    private static string SqlType(Column column) => column.Type == ColumnType.Timestamp ? "TIMESTAMP_NTZ" : column.SqlType;

    public async Task<IReadOnlyList<object?[]>> QueryAsync(SqlStatement statement, CancellationToken cancellationToken)
    {
        // A query over a large row set runs once per slice of it; the reads in sql/ingestion look rows up by key, so the
        // slices' answers together are the answer over the whole set. Rows are decoded a result partition at a time, and
        // short texts that repeat (names, regions, categories, a landing's id) are kept once per slice's answer.
        var answers = await RunPerSliceAsync(statement, (sql, bindings, token) =>
        {
            var repeated = new Dictionary<string, string>(StringComparer.Ordinal);
            return client.QueryAsync(sql, bindings, (columns, row) => Decode(columns, row, repeated), token);
        }, cancellationToken);
        return answers.Length == 1 ? answers[0] : answers.SelectMany(rows => rows).ToArray();
    }

    /// <summary>
    /// One autocommitted statement per slice of the row set, bound as JSON, several at once: no staging, no write lock,
    /// no transaction. INSERTs into one table "often can run in parallel with other INSERT and COPY operations"
    /// (docs.snowflake.com/en/sql-reference/transactions, "Resource locking"), while UPDATE, DELETE and MERGE take turns,
    /// so this is the write every ingestion process makes at once.
    /// </summary>
    public Task AppendAsync(SqlStatement statement, CancellationToken cancellationToken) =>
        RunPerSliceAsync(statement, (sql, bindings, token) => client.ExecuteAsync(sql, bindings, 1, token), cancellationToken);

    /// <summary>
    /// Runs a statement once per slice of its row set (<see cref="Slice"/>), each slice bound as JSON, several at once;
    /// returns the answers in slice order.
    /// </summary>
    private async Task<T[]> RunPerSliceAsync<T>(
        SqlStatement statement, Func<string, List<SqlApiBinding>, CancellationToken, Task<T>> run, CancellationToken cancellationToken)
    {
        var slices = Slice(statement);
        var answers = new T[slices.Length];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, slices.Length),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (i, token) =>
            {
                var bindings = new List<SqlApiBinding>();
                var sql = Render(statement, bindings, source => BoundRowSet(source, slices[i][SourceIndex(statement, source)], bindings));
                answers[i] = await run(sql, bindings, token);
            });

        return answers;
    }

    public async Task ExecuteTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken) =>
        await (await PrepareTransactionAsync(statements, cancellationToken)).ExecuteAsync(cancellationToken);

    /// <summary>
    /// Stages the transaction's row sets now and returns the multi-statement request that reads them, to run later: a
    /// session sees everything committed before it started, so the request finds the staged rows whenever it runs.
    /// </summary>
    public async Task<PreparedTransaction> PrepareTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken)
    {
        if (statements.Count == 1 && statements[0].Sources.Count == 0)
        {
            // One statement is atomic by itself and may carry bind variables.
            var single = statements[0];
            return new PreparedTransaction(async token =>
            {
                var bindings = new List<SqlApiBinding>();
                await client.ExecuteAsync(Render(single, bindings, _ => throw new UnreachableException()), bindings, 1, token);
            });
        }

        if (statements.FirstOrDefault(s => s.Parameters.Count > 0) is { } parameterized)
        {
            throw new NotSupportedException(
                "A transaction of several statements cannot carry '?' parameters on Snowflake (no bind variables in a multi-statement request); " +
                $"pass the values as a row set instead: {parameterized.Sql}");
        }

        await CheckTablesAfterFailureAsync(cancellationToken);

        // If staging fails part way, the rows already staged are tagged with an id no transaction will ever read. A row
        // set that several statements read (the batch's id, its offsets) is staged once.
        var batchId = Guid.NewGuid().ToString("N"); // Hex digits only: the one literal ever written into SQL text.
        var sets = new List<RowSet>();
        foreach (var source in statements.SelectMany(s => s.Sources))
        {
            if (source.Rows.Count > 0 && !sets.Exists(set => ReferenceEquals(set, source)))
            {
                sets.Add(source);
            }
        }

        await Parallel.ForEachAsync(
            sets.SelectMany((source, setNo) => SnowflakeRowSets.Encode(source, options.MaxBytesPerStatement).Select(json => (SetNo: setNo, Source: source, Json: json))),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (part, token) => await StageAsync(batchId, part.SetNo, part.Source, part.Json, token));

        // TRANSACTION_ABORT_ON_ERROR: by default a failed statement leaves its explicit transaction open, holding its locks
        // (sql-reference/transactions, "Failed statements within a transaction"; the parameter defaults to FALSE). What
        // becomes of a transaction still open when a multi-statement request ends is not documented for the SQL API; its
        // statements run inside a system procedure (SYSTEM$MULTISTMT, named in its errors), and a transaction left active
        // at the end of a procedure is rolled back with an error, while a session that just goes away leaves it
        // detached with its locks until Snowflake aborts it (after 5 idle minutes if it blocks others). The tables' locks
        // must not hang on either: the session aborts the transaction at the first failure. The SQL API's "parameters"
        // do not take this one, so it is a statement of the request.
        var text = new StringBuilder("ALTER SESSION SET TRANSACTION_ABORT_ON_ERROR = TRUE;\nBEGIN TRANSACTION;\n");
        foreach (var statement in statements)
        {
            text.Append(Render(statement, [], source => source.Rows.Count == 0
                    ? source.EmptySelect(SqlType)
                    : StagedRowSet(batchId, sets.FindIndex(set => ReferenceEquals(set, source)), source)))
                .Append(";\n");
        }

        text.Append("COMMIT;");
        var request = text.ToString();
        var tables = sets.Select(StagingTable).Distinct(StringComparer.Ordinal).ToArray();
        return new PreparedTransaction(
            async token =>
            {
                await CheckTablesOnFailureAsync(() => client.ExecuteAsync(request, [], statements.Count + 3, token));
                CleanUpAfterCommit(batchId, tables);
            },
            // Never run, so no request will read them.
            discard: () => CleanUpAfterCommit(batchId, tables));
    }

    public async ValueTask DisposeAsync()
    {
        // The last batches' staged rows, deleted now rather than left to expire.
        try
        {
            Task running;
            lock (_cleanupGate)
            {
                running = _cleanup;
            }

            await running.WaitAsync(TimeSpan.FromSeconds(10));
            await CleanUpAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is TimeoutException or SnowflakeException or HttpRequestException or OperationCanceledException)
        {
            // They expire after a day.
        }
    }

    /// <summary>
    /// Deletes the staged rows of a batch that committed (or was discarded unrun) soon, without the next batch waiting for it: one request per staging
    /// table for the rows of all batches committed meanwhile, one round at a time. A request that fails leaves its rows to expire after a day.
    /// </summary>
    private void CleanUpAfterCommit(string batchId, string[] tables)
    {
        if (tables.Length == 0)
        {
            return;
        }

        lock (_cleanupGate)
        {
            _toClean.Add((batchId, tables));
            if (_cleanup.IsCompleted)
            {
                _cleanup = Task.Run(CleanUpAsync);
            }
        }
    }

    private async Task CleanUpAsync()
    {
        while (true)
        {
            (string BatchId, string[] Tables)[] batches;
            lock (_cleanupGate)
            {
                batches = [.. _toClean];
                _toClean.Clear();
            }

            if (batches.Length == 0)
            {
                return;
            }

            var deletes = batches
                .SelectMany(b => b.Tables.Select(table => (Table: table, b.BatchId)))
                .GroupBy(t => t.Table, StringComparer.Ordinal)
                .Select(g => $"DELETE FROM {g.Key} WHERE BATCH_ID IN ({string.Join(", ", g.Select(t => $"'{t.BatchId}'"))})")
                .ToArray();
            try
            {
                // One request per table, side by side: a DELETE locks its table, and other processes' staging INSERTs into
                // it may have to wait ("sometimes"), so no table stays locked while the DELETEs of others run.
                await Parallel.ForEachAsync(deletes, new ParallelOptions { MaxDegreeOfParallelism = Parallelism },
                    async (delete, _) => await client.ExecuteAsync(delete, [], 1, CancellationToken.None));
            }
            catch (Exception ex) when (ex is SnowflakeException or HttpRequestException or TimeoutException or OperationCanceledException)
            {
                // Left to expire (ExpireStagedRowsAsync): no batch depends on these rows any more.
            }
        }
    }

    /// <summary>Inserts one slice of a row set into its staging table, tagged with the batch and statement.</summary>
    private async Task StageAsync(string batchId, int setNo, RowSet source, string json, CancellationToken cancellationToken)
    {
        var table = StagingTable(source);
        await EnsureTableAsync(table, () => CreateStagingTableAsync(table, source), cancellationToken);
        await ExpireStagedRowsAsync(table, cancellationToken);
        var bindings = new List<SqlApiBinding>
        {
            SnowflakeValues.Bind(batchId),
            SnowflakeValues.Bind(setNo),
        };
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"INSERT INTO {table} (BATCH_ID, SET_NO, STAGED_AT, ")
            .AppendJoin(", ", source.Columns.Select(c => c.Name))
            .Append(")\nSELECT CAST(? AS VARCHAR), CAST(? AS INTEGER), CAST(CURRENT_TIMESTAMP AS TIMESTAMP_NTZ), ")
            .AppendJoin(", ", source.Columns.Select(c => c.Name))
            .Append("\nFROM ")
            .Append(BoundRowSet(source, json, bindings)).Append(" AS s");
        await CheckTablesOnFailureAsync(() => client.ExecuteAsync(text.ToString(), bindings, 1, cancellationToken));
    }

    /// <summary>
    /// Runs a statement that writes to tables this provider created; when Snowflake refuses it (a SQL error), the next
    /// batch first checks that those tables are still there. Someone may have dropped one (by hand, or by recreating the
    /// schema), and the error does not say so in a form to rely on: inside a multi-statement request every failure is
    /// Snowflake's 100132 with SQL state P0000, the failing statement's own error only in the text
    /// (developer-guide/sql-api/submitting-multiple-statements).
    /// </summary>
    private async Task CheckTablesOnFailureAsync(Func<Task> statement)
    {
        try
        {
            await statement();
        }
        catch (SnowflakeException ex) when (ex.HttpStatus == 422)
        {
            Volatile.Write(ref _checkTables, 1);
            throw;
        }
    }

    /// <summary>
    /// After a refused statement: forgets the tables of this provider that no longer exist, so that they are created
    /// again (empty: staged rows hold nothing that outlives a batch). One query; the star schema's own
    /// tables are not touched here, since creating one of those again would hide the loss of its rows.
    /// </summary>
    private async Task CheckTablesAfterFailureAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _checkTables, 0) == 0)
        {
            return;
        }

        try
        {
            var result = await client.ExecuteAsync(
                "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = CURRENT_SCHEMA() AND TABLE_NAME LIKE 'ECOMMERCE%'",
                [], 1, cancellationToken);
            var present = result.Rows.Select(row => row[0]).ToHashSet(StringComparer.OrdinalIgnoreCase);
            foreach (var table in _tablesReady.Keys.Where(table => !present.Contains(table)))
            {
                _tablesReady.TryRemove(table, out _);
            }
        }
        catch
        {
            Volatile.Write(ref _checkTables, 1);
            throw;
        }
    }

    /// <summary>Creates a table this provider needs on first use in this process; a failed creation is tried again next time.</summary>
    private async Task EnsureTableAsync(string table, Func<Task> create, CancellationToken cancellationToken)
    {
        var creation = _tablesReady.GetOrAdd(table, _ => new Lazy<Task>(create));
        try
        {
            await creation.Value.WaitAsync(cancellationToken);
        }
        catch when (creation.Value.IsFaulted)
        {
            _tablesReady.TryRemove(KeyValuePair.Create(table, creation));
            throw;
        }
    }

    /// <summary>A row set's staging table: transient (no fail-safe storage for rows that live seconds).</summary>
    private async Task CreateStagingTableAsync(string table, RowSet source)
    {
        var columns = string.Join(",\n    ", source.Columns.Select(c => $"{c.Name} {SqlType(c)}"));
        await client.ExecuteAsync(
            $"CREATE TRANSIENT TABLE IF NOT EXISTS {table} (\n    BATCH_ID VARCHAR(32) NOT NULL,\n    SET_NO INTEGER NOT NULL,\n    STAGED_AT TIMESTAMP_NTZ NOT NULL,\n    {columns}\n)",
            [], 1, CancellationToken.None);
    }

    /// <summary>
    /// At most hourly per table: deletes staged rows a day old, left by batches whose staging failed or whose
    /// transaction never ran. Ages are measured by Snowflake's clock, not this host's.
    /// </summary>
    private async Task ExpireStagedRowsAsync(string table, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var last = _expiredAt.GetValueOrDefault(table, DateTimeOffset.MinValue);
        if (now - last < ExpiryInterval || !_expiredAt.TryUpdate(table, now, last) && !_expiredAt.TryAdd(table, now))
        {
            return;
        }

        await client.ExecuteAsync(
            $"DELETE FROM {table} WHERE STAGED_AT < CAST(CURRENT_TIMESTAMP AS TIMESTAMP_NTZ) - INTERVAL '1 DAY'", [], 1, cancellationToken);
    }

    /// <summary>
    /// The encoded rows of each row set of a query (in the order of its sources), once per run: a single run when
    /// every set fits in one statement, otherwise one run per slice of its only row set.
    /// </summary>
    private string?[][] Slice(SqlStatement statement)
    {
        var encoded = statement.Sources.Select(source => SnowflakeRowSets.Encode(source, options.MaxBytesPerStatement)).ToArray();
        if (encoded.All(slices => slices.Count <= 1))
        {
            return [encoded.Select(slices => slices.Count == 0 ? null : slices[0]).ToArray()];
        }

        if (statement.Sources.Count > 1)
        {
            throw new NotSupportedException(
                $"A query reads {statement.Sources.Count} row sets and one of them is too large for one statement; only a single row set can be sliced.");
        }

        return encoded[0].Select(json => new string?[] { json }).ToArray();
    }

    /// <summary>Which of the statement's sources <paramref name="source"/> is (the object itself, not an equal one).</summary>
    private static int SourceIndex(SqlStatement statement, RowSet source)
    {
        for (var i = 0; i < statement.Sources.Count; i++)
        {
            if (ReferenceEquals(statement.Sources[i], source))
            {
                return i;
            }
        }

        throw new UnreachableException();
    }

    /// <summary>A row set read from its encoded rows, bound as the next bind variable; an empty set is a typed query of no rows.</summary>
    private static string BoundRowSet(RowSet source, string? json, List<SqlApiBinding> bindings)
    {
        if (json is null)
        {
            return source.EmptySelect(SqlType);
        }

        bindings.Add(SnowflakeValues.Bind(json));
        return SnowflakeRowSets.Select(source, SqlType);
    }

    /// <summary>
    /// A row set's staging table, named after the set and its columns: a row set whose columns change (a new
    /// version of the service) gets a table of its own rather than failing on the old one.
    /// </summary>
    private static string StagingTable(RowSet source)
    {
        var shape = string.Join(",", source.Columns.Select(c => $"{c.Name} {SqlType(c)}"));
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(shape)).AsSpan(0, 4));
        return $"{StagingTablePrefix}{source.Name.ToUpperInvariant()}_{hash}";
    }

    /// <summary>
    /// A staged row set as the batch's statements read it. DISTINCT: should a staging insert ever have landed twice,
    /// the MERGE still sees each row once.
    /// </summary>
    private static string StagedRowSet(string batchId, int setNo, RowSet source) =>
        $"(SELECT DISTINCT {string.Join(", ", source.Columns.Select(c => c.Name))} FROM {StagingTable(source)} " +
        $"WHERE BATCH_ID = '{batchId}' AND SET_NO = {setNo.ToString(CultureInfo.InvariantCulture)})";

    /// <summary>
    /// The statement's text with every <c>?</c> bound in turn and every <c>{name}</c> replaced by its row set;
    /// the bind variables are appended to <paramref name="bindings"/>, numbered after those already there.
    /// </summary>
    internal static string Render(SqlStatement statement, List<SqlApiBinding> bindings, Func<RowSet, string> renderSource)
    {
        // Without its final ';', so that statements can be joined into a multi-statement request.
        var sql = statement.Sql.TrimEnd().TrimEnd(';');
        var parameter = 0;
        var text = SqlText.Render(
            sql,
            name => statement.Sources.FirstOrDefault(s => s.Name == name) is { } source ? renderSource(source) : null,
            () =>
            {
                if (parameter >= statement.Parameters.Count)
                {
                    throw new ArgumentException($"The statement has more '?' placeholders than the {statement.Parameters.Count} parameters given.", nameof(statement));
                }

                if (statement.Parameters[parameter++] is not { } value)
                {
                    return "NULL"; // The SQL API documents no bind form for NULL (SnowflakeValues.Bind).
                }

                bindings.Add(SnowflakeValues.Bind(value));
                return "?";
            });

        if (parameter != statement.Parameters.Count)
        {
            throw new ArgumentException($"The statement has {parameter} '?' placeholders but {statement.Parameters.Count} parameters were given.", nameof(statement));
        }

        return text;
    }

    /// <summary>
    /// Texts this short are looked up in <c>repeated</c>: names, regions, categories, customer and product ids, a landing's
    /// id (32 characters); not what is unique to a row, such as order ids (GUIDs, 36) and content digests (64).
    /// </summary>
    private const int MaxSharedTextLength = 32;

    private static object?[] Decode(IReadOnlyList<SqlApiColumn> columns, IReadOnlyList<string?> row, Dictionary<string, string> repeated)
    {
        var values = new object?[columns.Count];
        for (var i = 0; i < values.Length; i++)
        {
            var value = SnowflakeValues.Decode(columns[i], i < row.Count ? row[i] : null);
            if (value is string { Length: <= MaxSharedTextLength } text)
            {
                if (repeated.TryGetValue(text, out var kept))
                {
                    value = kept;
                }
                else
                {
                    repeated[text] = text;
                }
            }

            values[i] = value;
        }

        return values;
    }
}
