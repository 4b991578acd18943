using System.Data.Common;
using DuckDB.NET.Data;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// The embedded warehouse: a DuckDB file. Row sets are appended (DuckDB's fastest load path) to temporary
/// tables of the writing connection; reads for analytics use connections of their own, so queries never wait
/// for a batch to commit.
/// </summary>
/// <remarks>
/// A DuckDB file is written by one process at a time (DuckDB locks it), so this process can know which order ids the
/// file holds: <see cref="StoredOrderIds"/>, loaded at the service's start (<see cref="WarmUpAsync"/>) or else when first needed (from the copy kept beside the file,
/// <see cref="SavedOrderIds"/>, or else from <c>FACT_ORDERS</c>) and kept up to date by every transaction. Order ids to look up (<see cref="RowSet.OrderIdsToLookUp"/>) that it certainly does not hold are
/// left out before a statement runs, so checking a batch of new orders costs the same whatever the size of the fact
/// table. Providers of the same file in one process share the write lock and the ids, as DuckDB shares the database.
/// </remarks>
public sealed partial class DuckDbWarehouseProvider : IWarehouseProvider
{
    private readonly string _connectionString;
    private readonly DuckDBConnection _writer;
    private readonly SharedDatabase _database;
    private readonly ILogger _logger;

    /// <param name="connectionString">DuckDB's, e.g. <c>Data Source=shop.duckdb</c>.</param>
    /// <param name="saveStoredIdsEvery">
    /// How many stored orders between two saves of the stored ids beside the file (<see cref="SavedOrderIds"/>): a start
    /// after a crash reads up to that many ids from the fact table. The first provider of a file in a process decides.
    /// </param>
    /// <param name="logger">Where a load of the stored ids is reported (how, how many, how long).</param>
    public DuckDbWarehouseProvider(string connectionString, long saveStoredIdsEvery = SavedOrderIds.DefaultSaveEvery, ILogger<DuckDbWarehouseProvider>? logger = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(saveStoredIdsEvery, 1);
        _connectionString = connectionString;
        _logger = logger ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _writer = new DuckDBConnection(connectionString);
        _writer.Open();
        _database = SharedDatabase.Open(_writer.DataSource, saveStoredIdsEvery, _logger);
        // Folded before the first provider of the file narrows DuckDB's threads (a checkpoint writes row groups side by
        // side). The checkpoints DuckDB makes by itself during ingestion then run on the one thread: into 30 M orders
        // 28,666 orders/s against 26,162-26,971 before, the same morning.
        FoldWriteAheadLog();
        ConfigureOnFirstOpen();
    }

    /// <summary>
    /// How much write-ahead log DuckDB gathers before it folds the log into the file (a checkpoint), unless the
    /// connection string sets <c>checkpoint_threshold</c> (or <c>wal_autocheckpoint</c>). DuckDB's default, 16 MiB, made a
    /// checkpoint every few dozen batches, and each rewrote every row group the batches had touched (all of DIM_CUSTOMER,
    /// whose versions a batch updates, and more of it the more versions it holds): in steady state 43.6-46.4 CPU µs per
    /// order against 42.3 with this default (single runs of `--only steady`; 39.6-40.0 with 64 MiB to 1 GiB set in the
    /// connection string), and into 30 M orders 18,200-21,800 against 29,200 orders/s. What a larger log costs: a start
    /// after a crash replays it (7.5 s to the first batch at 30 M orders against 7.0-7.3, peak 419 MB against 368), the
    /// checkpoint at a clean stop folds it, and the <c>.wal</c> file beside the database grows to about that size.
    /// </summary>
    public const string DefaultCheckpointThreshold = "64MiB";

    /// <summary>
    /// Sets <see cref="DefaultCheckpointThreshold"/> for the database and narrows its worker threads but for analytics
    /// queries and scripts (<see cref="DuckDbThreads"/>), once per file in this process (the first provider of it decides, as DuckDB.NET
    /// opens a file once with the first connection string's settings); best effort.
    /// </summary>
    private void ConfigureOnFirstOpen()
    {
        if (!_database.TakeFirstOpen())
        {
            return;
        }

        _database.Threads = DuckDbThreads.NarrowOnOpen(_writer, _connectionString, _logger);
        var builder = new DuckDBConnectionStringBuilder { ConnectionString = _connectionString };
        if (!builder.ContainsKey("checkpoint_threshold") && !builder.ContainsKey("wal_autocheckpoint")
            && !TryExecute($"SET GLOBAL checkpoint_threshold = '{DefaultCheckpointThreshold}'"))
        {
            LogCheckpointThresholdNotSet(_logger, DefaultCheckpointThreshold);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "DuckDB's checkpoint threshold could not be set to {Threshold}; DuckDB's own applies (more CPU per order)")]
    private static partial void LogCheckpointThresholdNotSet(ILogger logger, string threshold);

    /// <summary>The order ids the file may hold, once loaded (by <see cref="WarmUpAsync"/>, or the first batch or look-up); null before.</summary>
    public StoredOrderIds? StoredOrderIds => _database.OrderIds;

    /// <summary>How the stored ids were last loaded in this process; null before the first load.</summary>
    public StoredIdsLoad? LastStoredIdsLoad => _database.LastLoad;

    /// <summary>Completes when no save of the stored ids runs in the background (tests wait for one with it).</summary>
    internal Task StoredIdsSaved => _database.Saved?.WaitForSaveAsync() ?? Task.CompletedTask;

    public string SystemName => "duckdb";

    /// <summary>True: one process writes the file, its transactions take turns under the write lock, and each sees every commit before it.</summary>
    public bool TransactionsSeeEveryCommit => true;

    /// <summary>
    /// Counts the write transactions and scripts that the providers of this file in this process ran (the only process
    /// that writes it; no other connection writes it). See <see cref="SharedDatabase.CommitSequence"/>.
    /// </summary>
    public long? CommitSequence => _database.CommitSequence;

    public async Task ExecuteScriptAsync(string script, CancellationToken cancellationToken)
    {
        await _database.WriteLock.WaitAsync(cancellationToken);
        try
        {
            // A script may scan the whole warehouse (a migration's backfill): on every core, as an analytics query is.
            using var widening = _database.Threads?.Widen(_writer) ?? default;
            using var command = _writer.CreateCommand();
            command.CommandText = script;
            command.ExecuteNonQuery();
        }
        finally
        {
            // A script may have stored anything (a schema, or rows): the ids are read again when next needed, and the
            // tables' columns too.
            _database.OrderIds = null;
            _database.TableColumns.Clear();
            _database.NoteCommit();
            _database.WriteLock.Release();
        }
    }

    /// <summary>Loads the stored ids (<see cref="LoadOrderIds"/>) now, under the write lock, unless they are loaded.</summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        await _database.WriteLock.WaitAsync(cancellationToken);
        try
        {
            LoadOrderIds(cancellationToken);
        }
        finally
        {
            _database.WriteLock.Release();
        }
    }

    public async Task<IReadOnlyList<object?[]>> QueryAsync(SqlStatement statement, CancellationToken cancellationToken)
    {
        if (statement.Sources.All(source => source.Rows.Count == 0))
        {
            // Plain reads (and reads of empty row sets, which need no staging) get their own connection to the same
            // database and run beside the writer.
            var sql = SqlText.Render(statement.Sql, name => statement.Sources.FirstOrDefault(s => s.Name == name)?.EmptySelect(c => c.SqlType));
            using var reader = OpenAnotherConnection();
            using var widening = statement.ScansWarehouse ? _database.Threads?.Widen(reader) ?? default : default;
            return Read(reader, sql, statement.Parameters);
        }

        await _database.WriteLock.WaitAsync(cancellationToken);
        try
        {
            // Loaded before the transaction begins, so that a first load's reads are not part of it.
            var ids = LoadOrderIds(cancellationToken);

            // A look-up of ids the file certainly does not hold finds nothing (RowSet.OrderIdsToLookUp): the usual case
            // for a batch of new orders, which then costs no query, table or transaction (about 6 ms a batch), only the
            // wait for the write lock that the filter is read under.
            if (statement.Sources.Any(source => source.OrderIdsToLookUp && !source.Rows.Any(values => ids.MayContain((string)values[0]!))))
            {
                return [];
            }

            // One transaction for the staging and the read: each statement outside one would be a transaction of its own.
            _database.Threads?.NarrowForTransaction(_writer);
            using var transaction = _writer.BeginTransaction();
            var rows = Read(_writer, Stage(statement, "q", []), statement.Parameters);
            transaction.Commit();
            return rows;
        }
        finally
        {
            _database.WriteLock.Release();
        }
    }

    /// <summary>One transaction: DuckDB takes any number of rows in one statement.</summary>
    public Task AppendAsync(SqlStatement statement, CancellationToken cancellationToken) =>
        ExecuteTransactionAsync([statement], cancellationToken);

    public Task ExecuteTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken) =>
        ExecuteCountedTransactionAsync(statements, cancellationToken);

    public async Task<CommitSequenceSpan?> ExecuteCountedTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken)
    {
        await _database.WriteLock.WaitAsync(cancellationToken);
        var committed = false;
        var sequence = _database.CommitSequence;
        CommitSequenceSpan? span = null;
        try
        {
            // Loaded before the transaction begins, so that a first load's reads are not part of it.
            var ids = LoadOrderIds(cancellationToken);
            using var writing = CpuByStage.Start(IngestionStage.Write);

            // Under the write lock, so no transaction can commit between this comparison and the statements.
            statements = statements
                .Select(s => s.WhenNothingCommitted is { } shortcut && shortcut.Since == sequence ? shortcut.Statement : s)
                .OfType<SqlStatement>()
                .ToList();

            // The staging tables are filled inside the transaction too: outside it, every staging table and every appender's
            // rows would commit on their own (about a millisecond each). Each statement has tables of its own, so two
            // statements may read different row sets of the same name; a row set two statements share is staged once.
            _database.Threads?.NarrowForTransaction(_writer);
            using var transaction = _writer.BeginTransaction();
            var staged = new Dictionary<RowSet, string>(ReferenceEqualityComparer.Instance);
            // A statement that only appends its rows to a table appends them there directly, in its turn (after the check).
            var prepared = statements.Select((statement, index) => DirectAppendColumns(statement) is { } fromSet
                ? (Sql: (string?)null, Statement: statement, Append: (int[]?)fromSet)
                : (Sql: Stage(statement, $"s{index}", staged), Statement: statement, Append: (int[]?)null)).ToList();

            // Recorded before the transaction runs, and after the look-ups of this very transaction were staged: if it
            // fails, the ids are merely looked up in vain later; if it commits, every later look-up sees them.
            var stored = 0;
            foreach (var statement in statements)
            {
                foreach (var id in statement.StoresOrderIds)
                {
                    ids.Add(id);
                    stored++;
                }
            }

            foreach (var (sql, statement, fromSet) in prepared)
            {
                if (fromSet is not null)
                {
                    AppendToTable(statement.AppendsTo!, statement.Sources[0], fromSet);
                    continue;
                }

                var changed = Run(transaction, sql!, statement.Parameters);
                if (statement.CheckUnlessChanged is { } check && changed != check.Rows)
                {
                    // Refuses the transaction with its own error, or lets it through as it would have anyway.
                    Run(transaction, Stage(check.Check, "c", staged), check.Check.Parameters);
                }
            }

            writing.Dispose(); // The statements end here; the commit is a stage of its own (a failure above ends it by the using).
            using (CpuByStage.Start(IngestionStage.Commit))
            {
                transaction.Commit();
            }

            committed = true;
            _database.Saved?.NoteStored(_writer, _connectionString, ids, stored);
        }
        finally
        {
            // Counted whether or not it committed: a failed commit may still have reached the file.
            var after = _database.NoteCommit();
            _database.WriteLock.Release();
            if (committed)
            {
                span = new CommitSequenceSpan(sequence, after);
            }
        }

        return span;
    }

    /// <summary>Runs one statement of the transaction; returns the rows it changed.</summary>
    private int Run(DuckDBTransaction transaction, string sql, IReadOnlyList<object?> parameters)
    {
        using var command = _writer.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        Bind(command, parameters);
        return command.ExecuteNonQuery();
    }

    public async ValueTask DisposeAsync()
    {
        // A save running in the background takes the write lock at its end: it is waited for outside the lock.
        while (true)
        {
            if (_database.Saved is { } saved)
            {
                await saved.WaitForSaveAsync(); // Never fails: a save logs its failures.
            }

            await _database.WriteLock.WaitAsync();
            if (_database.Saved is not { IsSaving: true })
            {
                break;
            }

            _database.WriteLock.Release();
        }

        try
        {
            var last = _database.IsLastReference;
            if (last)
            {
                // DuckDB may keep the database open for a connection beyond this provider (a reader still open), and the
                // next provider of it takes the count it finds for DuckDB's own; the checkpoint at closing uses it too.
                _database.Threads?.Restore(_writer);
            }

            if (last && _database.Saved is { } saved && _database.OrderIds is { } ids)
            {
                // Kept beside the file, so that the next start reads no stored id again.
                saved.SaveBeforeClosing(_writer, ids);
            }

            await _writer.DisposeAsync();
        }
        finally
        {
            _database.WriteLock.Release();
            _database.Release();
        }
    }

    /// <summary>
    /// Brings each row set of the statement in and names it in the SQL: an empty set as a query that returns no row, a
    /// small one as literal rows, a larger one as a temporary table filled by an appender (named after the set, its
    /// columns and <paramref name="slot"/>). A set found in <paramref name="staged"/> (brought in for an earlier statement
    /// of the same transaction) is not brought in again.
    /// </summary>
    private string Stage(SqlStatement statement, string slot, Dictionary<RowSet, string> staged)
    {
        if (statement.Sources.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ArgumentException($"A statement reads two row sets named '{twice.Key}'.", nameof(statement));
        }

        var relations = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in statement.Sources)
        {
            if (!staged.TryGetValue(source, out var relation))
            {
                var rows = source.Rows;
                if (source.OrderIdsToLookUp)
                {
                    // Ids certainly not stored are left out: a look-up would find nothing for them.
                    var ids = LoadOrderIds();
                    rows = rows.Where(values => ids.MayContain((string)values[0]!)).ToList();
                }

                // A table and its appender cost about two milliseconds whatever they hold (most of a batch's
                // sets are empty or a few rows: the ids that may be stored, the batch's id, its partitions).
                relation = rows.Count == 0 ? source.EmptySelect(c => c.SqlType)
                    : rows.Count <= MaxLiteralRows && !rows.Any(values => values.Any(v => v is string text && text.Contains('\0', StringComparison.Ordinal)))
                        ? LiteralRows(source.Columns, rows)
                    : FillTable(source, rows, slot);
                staged[source] = relation;
            }

            relations[source.Name] = relation;
        }

        // In one pass over the statement's own text: literal rows written in for one set are never searched for another
        // set's placeholder.
        return SqlText.Render(statement.Sql, name => relations.GetValueOrDefault(name));
    }

    /// <summary>
    /// Where the statement's rows are appended to its table directly (<see cref="SqlStatement.AppendsTo"/>), not through a
    /// staging table and an <c>INSERT ... SELECT</c> (a fifth of a batch's statement time in the steady-state benchmark):
    /// for each of the table's columns in order, the index of the set's column of that name, or -1 (NULL). Null, and the
    /// statement is run, unless every column of the set is a column of the table of the very same type: an appender
    /// writes a value's bytes as they are (DuckDB.NET does not convert an int for a BIGINT column), where the statement
    /// would cast it.
    /// </summary>
    private int[]? DirectAppendColumns(SqlStatement statement)
    {
        if (statement.AppendsTo is not { } table || statement.Sources.Count != 1 || statement.Parameters.Count != 0
            || TableColumns(table) is not { } columns)
        {
            return null;
        }

        var set = statement.Sources[0].Columns;
        var fromSet = new int[columns.Length];
        var matched = 0;
        for (var t = 0; t < columns.Length; t++)
        {
            fromSet[t] = -1;
            for (var i = 0; i < set.Count; i++)
            {
                if (string.Equals(set[i].Name, columns[t].Name, StringComparison.OrdinalIgnoreCase))
                {
                    if (!string.Equals(set[i].SqlType, columns[t].Type, StringComparison.OrdinalIgnoreCase))
                    {
                        return null;
                    }

                    fromSet[t] = i;
                    matched++;
                    break;
                }
            }
        }

        // Every column of the set has its place in the table.
        return matched == set.Count ? fromSet : null;
    }

    /// <summary>
    /// The columns of a table of the file (schema main, not a temporary table), in the table's order, with their types
    /// as DuckDB names them; null when there is no such table. Kept until the next script.
    /// </summary>
    private (string Name, string Type)[]? TableColumns(string table)
    {
        if (!_database.TableColumns.TryGetValue(table, out var columns))
        {
            columns = Read(_writer,
                    "SELECT column_name, data_type FROM duckdb_columns() WHERE lower(table_name) = lower(?) AND schema_name = 'main' " +
                    "AND database_name = current_database() ORDER BY column_index", [table])
                .Select(row => ((string)row[0]!, (string)row[1]!)).ToArray();
            _database.TableColumns[table] = columns;
        }

        return columns.Length == 0 ? null : columns;
    }

    /// <summary>
    /// Appends the rows to a table of the file, in the writer's open transaction, each value into the table's column of
    /// the same name and NULL into the others (an appender fills every column, in the table's order, which the migrations
    /// decide), as <paramref name="fromSet"/> maps them (<see cref="DirectAppendColumns"/>).
    /// </summary>
    private void AppendToTable(string table, RowSet source, int[] fromSet)
    {
        if (source.Rows.Count == 0)
        {
            return;
        }

        _database.Catalog ??= (string)Read(_writer, "SELECT current_database()", [])[0][0]!;
        using var appender = _writer.CreateAppender(_database.Catalog, "main", table);
        if (source.Rows is ITypedRows typed)
        {
            // Value by value with their types: no row of boxes per order (FactOrderRows).
            var values = new AppenderValues();
            for (var index = 0; index < typed.Count; index++)
            {
                appender.AppendRow((typed, index, fromSet, values), static (row, state) =>
                {
                    state.values.Row = row;
                    foreach (var column in state.fromSet)
                    {
                        if (column < 0)
                        {
                            row.AppendNullValue();
                        }
                        else
                        {
                            state.typed.WriteValue(state.index, column, state.values);
                        }
                    }
                });
            }

            return;
        }

        foreach (var values in source.Rows)
        {
            // AppendRow reuses one row object (CreateRow made one per row: about 100 bytes an order).
            appender.AppendRow((values, fromSet), static (row, state) =>
            {
                foreach (var index in state.fromSet)
                {
                    Append(row, index < 0 ? null : state.values[index]);
                }
            });
        }
    }

    /// <summary>
    /// Row sets up to this size are written into the statement as literal rows rather than staged: below about 24 rows
    /// that was the cheaper way (a MERGE of 8 rows took 1.7 ms against 2.1 ms through a table), above it the table was.
    /// </summary>
    private const int MaxLiteralRows = 16;

    /// <summary>A temporary table holding <paramref name="rows"/>, filled by an appender (DuckDB's fastest load path).</summary>
    private string FillTable(RowSet source, IReadOnlyList<object?[]> rows, string slot)
    {
        // Named after the set's shape too: two statements may read sets of one name with other columns.
        var columns = string.Join(", ", source.Columns.Select(c => $"{c.Name} {c.SqlType}"));
        var table = $"stg_{source.Name}_{slot}_{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(columns)).AsSpan(0, 4))}";
        // Replaced rather than emptied: DuckDB keeps a temporary table's deleted rows, so a table emptied batch after
        // batch grows, and emptying it takes longer every time.
        Execute($"CREATE OR REPLACE TEMP TABLE {table} ({columns})");
        using var appender = _writer.CreateAppender("temp", "main", table);
        foreach (var values in rows)
        {
            appender.AppendRow(values, static (row, values) =>
            {
                foreach (var value in values)
                {
                    Append(row, value);
                }
            });
        }

        return table;
    }

    /// <summary>
    /// The rows as a subquery of literal values, each cast to its column's type, e.g.
    /// <c>(SELECT * FROM (VALUES (CAST('a' AS VARCHAR), CAST(1 AS BIGINT))) AS v(ID, N))</c>.
    /// </summary>
    private static string LiteralRows(IReadOnlyList<Column> columns, IReadOnlyList<object?[]> rows)
    {
        var sql = new System.Text.StringBuilder("(SELECT * FROM (VALUES ");
        for (var r = 0; r < rows.Count; r++)
        {
            sql.Append(r == 0 ? "(" : ", (");
            for (var i = 0; i < columns.Count; i++)
            {
                sql.Append(i == 0 ? "CAST(" : ", CAST(").Append(Literal(rows[r][i])).Append(" AS ").Append(columns[i].SqlType).Append(')');
            }

            sql.Append(')');
        }

        return sql.Append(") AS v(").AppendJoin(", ", columns.Select(c => c.Name)).Append("))").ToString();
    }

    /// <summary>A value as a DuckDB literal: text quoted (a quote doubled; DuckDB gives backslashes no meaning), times to the microsecond.</summary>
    private static string Literal(object? value) => value switch
    {
        null => "NULL",
        string text => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'",
        int or long => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!,
        decimal number => number.ToString(System.Globalization.CultureInfo.InvariantCulture),
        DateTime instant => "'" + instant.ToString("yyyy-MM-dd HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture) + "'",
        DateOnly date => "'" + date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) + "'",
        bool flag => flag ? "TRUE" : "FALSE",
        _ => throw new NotSupportedException($"Cannot write a value of type {value.GetType()} as a literal."),
    };

    /// <summary>
    /// Writes what DuckDB replayed from the write-ahead log into the file itself. A process that was killed (a stack
    /// stopped by force) leaves its log behind; DuckDB replays it on the next open but keeps it, and logs would
    /// otherwise pile up run after run beside a file that holds little. Best effort: another connection of this
    /// process with a transaction open makes DuckDB refuse, and the log then stays until a later checkpoint.
    /// </summary>
    private void FoldWriteAheadLog()
    {
        try
        {
            Execute("CHECKPOINT");
        }
        catch (DuckDBException)
        {
            // Nothing is lost either way: the log is replayed on every open until it is folded.
        }
    }

    /// <summary>
    /// The ids of the stored orders, when first needed: the filter saved beside the file and the ids stored after it, or
    /// else every id in FACT_ORDERS. Call under the write lock, with no transaction open.
    /// </summary>
    private StoredOrderIds LoadOrderIds(CancellationToken cancellationToken = default)
    {
        if (_database.OrderIds is { } loaded)
        {
            return loaded;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        StoredIdsLoad load;
        if (!TableExists("fact_orders"))
        {
            _database.OrderIds = new StoredOrderIds();
            load = new StoredIdsLoad(FromSavedCopy: false, IdsReadFromFactTable: 0, clock.Elapsed);
        }
        else if (_database.Saved?.Read(_writer) is { } saved)
        {
            _database.OrderIds = saved.Ids;
            load = new StoredIdsLoad(FromSavedCopy: true, saved.IdsReadAfterIt, clock.Elapsed);
            LogLoadedFromSavedCopy(_logger, saved.IdsReadAfterIt, clock.Elapsed.TotalSeconds);
        }
        else
        {
            _database.OrderIds = ReadStoredOrderIds(cancellationToken);
            load = new StoredIdsLoad(FromSavedCopy: false, _database.OrderIds.Count, clock.Elapsed);
            LogLoadedFromFactTable(_logger, _database.OrderIds.Count, clock.Elapsed.TotalSeconds);
        }

        _database.LastLoad = load;
        return _database.OrderIds;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stored order ids loaded from the copy kept beside the warehouse file and {IdsAfter} ids stored after it, in {Seconds:F2} s")]
    private static partial void LogLoadedFromSavedCopy(ILogger logger, long idsAfter, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stored order ids loaded from FACT_ORDERS, all {Ids} of them, in {Seconds:F2} s (no copy kept beside the file describes it)")]
    private static partial void LogLoadedFromFactTable(ILogger logger, long ids, double seconds);

    /// <summary>Every id in FACT_ORDERS, read into a filter sized for them.</summary>
    private StoredOrderIds ReadStoredOrderIds(CancellationToken cancellationToken)
    {
        var extent = Read(_writer, "SELECT COUNT(*), COALESCE(MAX(rowid), -1) FROM FACT_ORDERS", [])[0];
        var count = Convert.ToInt64(extent[0], System.Globalization.CultureInfo.InvariantCulture);
        var maxRowId = Convert.ToInt64(extent[1], System.Globalization.CultureInfo.InvariantCulture);
        var ids = new StoredOrderIds(count);

        // DuckDB keeps the blocks a scan reads in its cache, up to its memory limit (80 % of RAM unless the connection
        // string sets one): reading every id of 30 M orders left 640 MB cached that the service never reads again (844 MB
        // resident after the read, against 278 MB with the read under a limit of 64 MB, which was no slower). The limit
        // is lowered for the read alone (an analytics query beside a first start shares it), never raised; best effort.
        var limit = (string?)Read(_writer, "SELECT current_setting('memory_limit')", [])[0][0];
        var lowered = Bytes(limit) > ReadLimitBytes && TryExecute("SET memory_limit = '64MiB'");

        // Set back as given: DuckDB shows a limit rounded (300MB as 286.1 MiB), so it is taken from the connection
        // string, or else DuckDB's default is restored.
        var given = new DuckDBConnectionStringBuilder { ConnectionString = _connectionString }.TryGetValue("memory_limit", out var value) ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;
        try
        {
            // In ranges of row ids, a connection each, side by side (DuckDB scans only the row groups of a range), added
            // in groups (StoredOrderIds.Add): 30 M ids in 9.8 s at a first start against 18.0 s read and added one by
            // one on one thread (`--only scale --scale 30000000`, 2026-12-05; 5.4-5.7 s since the groups' blocks are
            // prefetched). Nothing writes meanwhile (the write lock is held and DuckDB locks the file to this process),
            // so the ranges' reads see the same rows.
            var ranges = (int)Math.Clamp(count / MinIdsPerReader, 1, Math.Clamp(Environment.ProcessorCount, 2, MaxReaders));
            var width = (maxRowId / ranges) + 1;
            Parallel.For(0, ranges, new ParallelOptions { MaxDegreeOfParallelism = ranges, CancellationToken = cancellationToken },
                range => AddStoredIds(ids, range * width, (range + 1) * width, cancellationToken));
        }
        catch (AggregateException failed)
        {
            // As a read on one connection would fail (the first reader's error; the others are alike, or follow from it).
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failed.InnerExceptions[0]).Throw();
        }
        finally
        {
            if (lowered && !TryExecute(given is null ? "RESET memory_limit" : $"SET memory_limit = '{given.Replace("'", "''", StringComparison.Ordinal)}'"))
            {
                LogLimitNotRestored(_logger, limit);
            }
        }

        _database.Saved?.NoteRead(count); // Saved after the next batch, so that a crash does not make the next start read them all again.
        return ids;
    }

    private const long ReadLimitBytes = 64L << 20;

    /// <summary>A reader of the stored ids per core (two on one core), up to this many, while each has at least <see cref="MinIdsPerReader"/> to read (one below two million ids).</summary>
    private const int MaxReaders = 4;

    private const long MinIdsPerReader = 1_000_000;

    /// <summary>
    /// A connection to the writer's database: a file or named in-memory database is shared by connections of the same
    /// connection string; a private in-memory one (<c>:memory:</c>) only by duplicating the writer's connection.
    /// </summary>
    private DuckDBConnection OpenAnotherConnection()
    {
        var connection = IsPrivateInMemory(_writer.DataSource)
            ? _writer.Duplicate() // Not open yet.
            : new DuckDBConnection(_connectionString);
        connection.Open();
        return connection;
    }

    /// <summary>Whether the data source is a plain in-memory database (<c>:memory:</c>, or none), private to the connection that opened it.</summary>
    private static bool IsPrivateInMemory(string? dataSource) =>
        string.IsNullOrEmpty(dataSource) || string.Equals(dataSource, ":memory:", StringComparison.OrdinalIgnoreCase);

    /// <summary>Adds the ids of FACT_ORDERS' rows with row ids from <paramref name="from"/> up to <paramref name="until"/>, read on a connection of their own.</summary>
    private void AddStoredIds(StoredOrderIds ids, long from, long until, CancellationToken cancellationToken)
    {
        using var connection = OpenAnotherConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT ORDER_ID FROM FACT_ORDERS WHERE rowid >= {from} AND rowid < {until}";
        command.UseStreamingMode = true; // Chunk by chunk: the whole column at once would take gigabytes.
        using var reader = command.ExecuteReader();
        ids.Add(reader, cancellationToken);
    }

    /// <summary>A size as DuckDB shows it (<c>18.8 GiB</c>, <c>300.0 MiB</c>, <c>512 bytes</c>) in bytes; null when not such a size.</summary>
    private static long? Bytes(string? size)
    {
        var match = System.Text.RegularExpressions.Regex.Match(size ?? "", @"^\s*([0-9.]+)\s*(bytes|B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)\s*$", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        if (!match.Success || !double.TryParse(match.Groups[1].Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }

        var unit = match.Groups[2].Value.ToUpperInvariant();
        var scale = unit switch
        {
            "KIB" => 1L << 10, "MIB" => 1L << 20, "GIB" => 1L << 30, "TIB" => 1L << 40,
            "KB" => 1_000L, "MB" => 1_000_000L, "GB" => 1_000_000_000L, "TB" => 1_000_000_000_000L,
            _ => 1L,
        };
        return (long)(number * scale);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "DuckDB's memory limit, lowered to read the stored order ids, could not be set back to {Limit}")]
    private static partial void LogLimitNotRestored(ILogger logger, string? limit);

    private bool TryExecute(string sql)
    {
        try
        {
            Execute(sql);
            return true;
        }
        catch (DuckDBException)
        {
            return false;
        }
    }

    private bool TableExists(string lowerCaseName) => TableExists(_writer, lowerCaseName);

    /// <summary>Whether the file holds the table <paramref name="lowerCaseName"/> (in schema main, not temporary).</summary>
    internal static bool TableExists(DuckDBConnection connection, string lowerCaseName) =>
        Convert.ToInt64(Read(connection, "SELECT COUNT(*) FROM duckdb_tables() WHERE lower(table_name) = ? AND schema_name = 'main' AND NOT temporary",
            [lowerCaseName])[0][0], System.Globalization.CultureInfo.InvariantCulture) > 0;

    private void Execute(string sql) => Execute(_writer, sql);

    internal static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>The rows of a query, each value in the types every provider returns (see <see cref="Normalize"/>).</summary>
    internal static List<object?[]> Read(DuckDBConnection connection, string sql, IReadOnlyList<object?> parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        Bind(command, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : Normalize(reader.GetValue(i));
            }

            rows.Add(row);
        }

        return rows;
    }

    private static void Bind(DbCommand command, IReadOnlyList<object?> parameters)
    {
        foreach (var value in parameters)
        {
            command.Parameters.Add(new DuckDBParameter(value ?? DBNull.Value));
        }
    }

    /// <summary>Values in the types every provider returns: whole numbers as long, fractions as decimal or double.</summary>
    private static object Normalize(object value) => value switch
    {
        int or short or sbyte or byte or ushort or uint => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
        float number => (double)number,
        DateTime dateTime => DateTime.SpecifyKind(dateTime, DateTimeKind.Utc),
        System.Numerics.BigInteger big => (decimal)big,
        _ => value,
    };

    /// <summary>Typed values into the appender's current row (<see cref="ITypedRows"/>).</summary>
    private sealed class AppenderValues : IValueWriter
    {
        public IDuckDBAppenderRow? Row { get; set; }

        private IDuckDBAppenderRow Current => Row ?? throw new InvalidOperationException("No appender row to write to.");

        public void WriteNull() => Current.AppendNullValue();

        public void WriteText(string value) => Current.AppendValue(value);

        public void WriteInteger(int value) => Current.AppendValue(value);

        public void WriteBigInt(long value) => Current.AppendValue(value);

        public void WriteDecimal(decimal value) => Current.AppendValue(value);

        public void WriteTimestamp(DateTime value) => Current.AppendValue(value);

        public void WriteDate(DateOnly value) => Current.AppendValue(value);

        public void WriteBoolean(bool value) => Current.AppendValue(value);
    }

    private static void Append(IDuckDBAppenderRow row, object? value)
    {
        switch (value)
        {
            case null: row.AppendNullValue(); break;
            case string text: row.AppendValue(text); break;
            case int number: row.AppendValue(number); break;
            case long number: row.AppendValue(number); break;
            case decimal number: row.AppendValue(number); break;
            case DateTime instant: row.AppendValue(instant); break;
            case DateOnly date: row.AppendValue(date); break;
            case bool flag: row.AppendValue(flag); break;
            default: throw new NotSupportedException($"Cannot stage a value of type {value.GetType()}.");
        }
    }

    /// <summary>
    /// What the providers of one DuckDB file in this process share: the write lock, the ids of its stored orders and the
    /// count of its write transactions. A plain in-memory database (<c>:memory:</c>) is private to its connection and
    /// shares nothing.
    /// </summary>
    private sealed class SharedDatabase
    {
        private static readonly Dictionary<string, SharedDatabase> ByPath = new(StringComparer.Ordinal);
        private static readonly Lock Registry = new();
        private readonly string? _path;
        private int _references = 1;

        private SharedDatabase(string? path, SavedOrderIds? saved)
        {
            _path = path;
            Saved = saved;
        }

        /// <summary>The stored ids kept beside the file; null in memory.</summary>
        public SavedOrderIds? Saved { get; }

        /// <summary>Whether only one connection of this process still uses the file.</summary>
        public bool IsLastReference
        {
            get
            {
                lock (Registry)
                {
                    return _references == 1;
                }
            }
        }

        public SemaphoreSlim WriteLock { get; private init; } = new(1, 1);

        /// <summary>
        /// Changes after every write transaction (<see cref="ExecuteTransactionAsync"/>, <see cref="ExecuteCountedTransactionAsync"/>, <see cref="AppendAsync"/>) or
        /// script of any provider of the database in this process, committed or not (see
        /// <see cref="IWarehouseProvider.CommitSequence"/>); not after <see cref="QueryAsync"/>, whose transactions only
        /// stage temporary tables. No other connection writes the file. Drawn from one counter for the whole process, so
        /// that no value of one database is ever a value of another (a plan written through another provider than the one
        /// it read through is never taken for current).
        /// </summary>
        public long CommitSequence => Interlocked.Read(ref _commits);

        private static long s_lastCommitSequence;
        private long _commits = Interlocked.Increment(ref s_lastCommitSequence);

        /// <summary>Counts a transaction or script, once it has ended (a read made before then may have missed it).</summary>
        public long NoteCommit()
        {
            var next = Interlocked.Increment(ref s_lastCommitSequence);
            Interlocked.Exchange(ref _commits, next);
            return next;
        }

        /// <summary>The columns of the tables appended to directly, in the table's order (none: no such table); emptied when a script runs.</summary>
        public System.Collections.Concurrent.ConcurrentDictionary<string, (string Name, string Type)[]> TableColumns { get; } = new(StringComparer.OrdinalIgnoreCase);

        /// <summary>The database's name as DuckDB's catalog (the file's name without extension, or <c>memory</c>), once read.</summary>
        public string? Catalog { get; set; }

        /// <summary>Null until first needed, and again after a script ran.</summary>
        public StoredOrderIds? OrderIds { get; set; }

        /// <summary>
        /// DuckDB's worker threads, widened for analytics queries and scripts; null where the connection string sets them,
        /// DuckDB uses one anyway or the count could not be read or set.
        /// </summary>
        public DuckDbThreads? Threads { get; set; }

        public StoredIdsLoad? LastLoad { get; set; }

        private int _opened;

        /// <summary>True for the first caller only: the provider that opened the file first in this process.</summary>
        public bool TakeFirstOpen() => Interlocked.Exchange(ref _opened, 1) == 0;

        public static SharedDatabase Open(string dataSource, long saveStoredIdsEvery, ILogger logger)
        {
            if (IsPrivateInMemory(dataSource))
            {
                return new SharedDatabase(null, null);
            }

            // A named in-memory database (":memory:name", ":memory:?cache=shared") may be shared by connections of this
            // process, as a file is (DuckDB.NET matches their names whatever the case); it keeps no stored ids beside it.
            var inMemory = dataSource.StartsWith(":memory:", StringComparison.OrdinalIgnoreCase);
            var path = inMemory ? dataSource.ToLowerInvariant() : System.IO.Path.GetFullPath(dataSource);
            lock (Registry)
            {
                if (ByPath.TryGetValue(path, out var shared))
                {
                    shared._references++;
                    return shared;
                }

                var writeLock = new SemaphoreSlim(1, 1);
                return ByPath[path] = new SharedDatabase(path, inMemory ? null : new SavedOrderIds(path, writeLock, saveStoredIdsEvery, logger)) { WriteLock = writeLock };
            }
        }

        public void Release()
        {
            lock (Registry)
            {
                if (--_references > 0)
                {
                    return;
                }

                if (_path is not null)
                {
                    ByPath.Remove(_path);
                }
            }

            WriteLock.Dispose();
        }
    }
}
