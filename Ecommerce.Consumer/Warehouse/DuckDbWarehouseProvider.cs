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
/// file holds: <see cref="StoredOrderIds"/>, loaded from <c>FACT_ORDERS</c> when first needed and kept up to date by
/// every transaction. Order ids to look up (<see cref="RowSet.OrderIdsToLookUp"/>) that it certainly does not hold are
/// left out before a statement runs, so checking a batch of new orders costs the same whatever the size of the fact
/// table. Providers of the same file in one process share the write lock and the ids, as DuckDB shares the database.
/// </remarks>
public sealed class DuckDbWarehouseProvider : IWarehouseProvider
{
    private readonly string _connectionString;
    private readonly DuckDBConnection _writer;
    private readonly SharedDatabase _database;

    public DuckDbWarehouseProvider(string connectionString)
    {
        _connectionString = connectionString;
        _writer = new DuckDBConnection(connectionString);
        _writer.Open();
        _database = SharedDatabase.Open(_writer.DataSource);
        FoldWriteAheadLog();
    }

    /// <summary>The order ids the file may hold, once loaded (after the first batch or look-up); null before.</summary>
    public StoredOrderIds? StoredOrderIds => _database.OrderIds;

    public string SystemName => "duckdb";

    /// <summary>True: one process writes the file, its transactions take turns under the write lock, and each sees every commit before it.</summary>
    public bool TransactionsSeeEveryCommit => true;

    public async Task ExecuteScriptAsync(string script, CancellationToken cancellationToken)
    {
        await _database.WriteLock.WaitAsync(cancellationToken);
        try
        {
            using var command = _writer.CreateCommand();
            command.CommandText = script;
            command.ExecuteNonQuery();
        }
        finally
        {
            // A script may have stored anything (a schema, or rows): the ids are read again when next needed.
            _database.OrderIds = null;
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
            using var reader = new DuckDBConnection(_connectionString);
            reader.Open();
            return Read(reader, sql, statement.Parameters);
        }

        await _database.WriteLock.WaitAsync(cancellationToken);
        try
        {
            // Loaded before the transaction begins: the first load commits a statement of its own (see ReadSavedOrderIds).
            LoadOrderIds();

            // One transaction for the staging and the read: each statement outside one would be a transaction of its own.
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

    public async Task ExecuteTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken)
    {
        await _database.WriteLock.WaitAsync(cancellationToken);
        try
        {
            // Loaded before the transaction begins: the first load commits a statement of its own (see ReadSavedOrderIds),
            // which a failed batch must not roll back.
            var ids = LoadOrderIds();

            // The staging tables are filled inside the transaction too: outside it, every staging table and every appender's
            // rows would commit on their own (about a millisecond each). Each statement has tables of its own, so two
            // statements may read different row sets of the same name; a row set two statements share is staged once.
            using var transaction = _writer.BeginTransaction();
            var staged = new Dictionary<RowSet, string>(ReferenceEqualityComparer.Instance);
            var prepared = statements.Select((statement, index) => (Sql: Stage(statement, $"s{index}", staged), statement.Parameters)).ToList();

            // Recorded before the transaction runs, and after the look-ups of this very transaction were staged: if it
            // fails, the ids are merely looked up in vain later; if it commits, every later look-up sees them.
            foreach (var statement in statements)
            {
                foreach (var id in statement.StoresOrderIds)
                {
                    ids.Add(id);
                }
            }

            foreach (var (sql, parameters) in prepared)
            {
                using var command = _writer.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = sql;
                Bind(command, parameters);
                command.ExecuteNonQuery();
            }

            transaction.Commit();
        }
        finally
        {
            _database.WriteLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _database.WriteLock.WaitAsync();
        try
        {
            if (_database.IsLastReference)
            {
                SaveOrderIds();
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
            var row = appender.CreateRow();
            for (var i = 0; i < values.Length; i++)
            {
                Append(row, values[i]);
            }

            row.EndRow();
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

    /// <summary>The ids of the stored orders, read from FACT_ORDERS when first needed. Call under the write lock.</summary>
    private StoredOrderIds LoadOrderIds()
    {
        if (_database.OrderIds is { } loaded)
        {
            return loaded;
        }

        var ids = !TableExists("fact_orders") ? new StoredOrderIds() : ReadSavedOrderIds() ?? ReadStoredOrderIds();
        _database.OrderIds = ids;
        return ids;
    }

    /// <summary>Every id in FACT_ORDERS, read into a filter sized for them.</summary>
    private StoredOrderIds ReadStoredOrderIds()
    {
        using var command = _writer.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM FACT_ORDERS";
        var ids = new StoredOrderIds(Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
        command.CommandText = "SELECT ORDER_ID FROM FACT_ORDERS";
        command.UseStreamingMode = true; // Chunk by chunk: the whole column at once would take gigabytes.
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>Whether the file holds the table <paramref name="lowerCaseName"/> (in schema main, not temporary).</summary>
    private bool TableExists(string lowerCaseName) =>
        Convert.ToInt64(Read(_writer, "SELECT COUNT(*) FROM duckdb_tables() WHERE lower(table_name) = ? AND schema_name = 'main' AND NOT temporary",
            [lowerCaseName])[0][0], System.Globalization.CultureInfo.InvariantCulture) > 0;

    /// <summary>Where the filter of stored order ids is kept between runs: beside the file, e.g. <c>shop.duckdb.order-ids</c>.</summary>
    private string? SavedOrderIdsPath => _database.Path is { } path ? path + ".order-ids" : null;

    /// <summary>
    /// Keeps the filter of stored order ids beside the file when the last connection of the process closes, so that the
    /// next start reads it (a fraction of a second) instead of every stored id (about 15 s at 30 million orders). The
    /// file counts only with a token the warehouse holds too, written after it, together with the fact table's row count
    /// and highest row id: see <see cref="ReadSavedOrderIds"/>. Best effort: on any failure the next start rebuilds.
    /// </summary>
    private void SaveOrderIds()
    {
        if (SavedOrderIdsPath is not { } path || _database.OrderIds is not { } ids)
        {
            return; // In memory, or never loaded: a token from an earlier run, if any, still describes the file.
        }

        try
        {
            var (count, maxRowId) = FactOrdersFingerprint();
            var token = Guid.NewGuid().ToString("N");
            var temporary = path + ".tmp";
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                using (var writer = new BinaryWriter(file, System.Text.Encoding.UTF8, leaveOpen: true))
                {
                    writer.Write(token);
                }

                ids.Write(file);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            Execute("CREATE OR REPLACE TABLE ORDER_ID_FILTER (TOKEN VARCHAR NOT NULL, ORDER_COUNT BIGINT NOT NULL, MAX_ROW_ID BIGINT NOT NULL)");
            Execute($"INSERT INTO ORDER_ID_FILTER VALUES ('{token}', {count}, {maxRowId})");
            Execute("CHECKPOINT");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DuckDBException)
        {
            // The next start reads every stored id instead.
        }
    }

    /// <summary>
    /// The filter saved by the last clean stop, if it still describes the file: the warehouse holds the token the saved
    /// file carries (a crash after the filter was read leaves none: see below), and the fact table has the row count and
    /// highest row id it had then, so no row was added or deleted since (by an older version of the service, or by hand).
    /// Both come from DuckDB's metadata in milliseconds; a sum of the ids' hashes would also catch ids changed in place,
    /// but its scan took 2.3 s at 30 million orders (cold), most of the start-up this saves, so README asks not to
    /// rewrite order ids between runs (or to delete the saved file). The token is removed as soon as it is read, before
    /// this process writes anything, so a filter that misses later orders is never read again. Null (and the ids are read
    /// from FACT_ORDERS) whenever anything does not match.
    /// </summary>
    private StoredOrderIds? ReadSavedOrderIds()
    {
        if (SavedOrderIdsPath is not { } path)
        {
            return null;
        }

        try
        {
            if (!TableExists("order_id_filter"))
            {
                return null;
            }

            var saved = Read(_writer, "SELECT TOKEN, ORDER_COUNT, MAX_ROW_ID FROM ORDER_ID_FILTER", []);
            Execute("DELETE FROM ORDER_ID_FILTER");
            if (saved.Count != 1 || !File.Exists(path))
            {
                return null;
            }

            var (count, maxRowId) = FactOrdersFingerprint();
            if (Convert.ToInt64(saved[0][1], System.Globalization.CultureInfo.InvariantCulture) != count
                || Convert.ToInt64(saved[0][2], System.Globalization.CultureInfo.InvariantCulture) != maxRowId)
            {
                return null;
            }

            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            using var reader = new BinaryReader(file, System.Text.Encoding.UTF8, leaveOpen: true);
            return reader.ReadString() == (string)saved[0][0]! ? StoredOrderIds.Read(file) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DuckDBException or InvalidCastException)
        {
            return null;
        }
    }

    /// <summary>The fact table's row count and highest row id (DuckDB appends rows at higher ids).</summary>
    private (long Count, long MaxRowId) FactOrdersFingerprint()
    {
        var row = Read(_writer, "SELECT COUNT(*), COALESCE(MAX(rowid), -1) FROM FACT_ORDERS", [])[0];
        return (Convert.ToInt64(row[0], System.Globalization.CultureInfo.InvariantCulture), Convert.ToInt64(row[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private void Execute(string sql)
    {
        using var command = _writer.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static List<object?[]> Read(DuckDBConnection connection, string sql, IReadOnlyList<object?> parameters)
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
    /// What the providers of one DuckDB file in this process share: the write lock, and the ids of its stored orders.
    /// In-memory databases are private to their connection and share nothing.
    /// </summary>
    private sealed class SharedDatabase
    {
        private static readonly Dictionary<string, SharedDatabase> ByPath = new(StringComparer.Ordinal);
        private static readonly Lock Registry = new();
        private readonly string? _path;
        private int _references = 1;

        private SharedDatabase(string? path) => _path = path;

        /// <summary>The file's full path; null in memory.</summary>
        public string? Path => _path;

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

        public SemaphoreSlim WriteLock { get; } = new(1, 1);

        /// <summary>Null until first needed, and again after a script ran.</summary>
        public StoredOrderIds? OrderIds { get; set; }

        public static SharedDatabase Open(string dataSource)
        {
            if (string.IsNullOrEmpty(dataSource) || dataSource.StartsWith(":memory:", StringComparison.Ordinal))
            {
                return new SharedDatabase(null);
            }

            var path = System.IO.Path.GetFullPath(dataSource);
            lock (Registry)
            {
                if (ByPath.TryGetValue(path, out var shared))
                {
                    shared._references++;
                    return shared;
                }

                return ByPath[path] = new SharedDatabase(path);
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
