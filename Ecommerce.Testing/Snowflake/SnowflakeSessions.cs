using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using DuckDB.NET.Data;

namespace Ecommerce.Testing.Snowflake;

/// <summary>
/// How the double's sessions (one per request, as in the SQL API) lock and see each other, each rule as Snowflake
/// documents it in https://docs.snowflake.com/en/sql-reference/transactions, and no kinder:
/// <list type="bullet">
/// <item>Resource locking: UPDATE, DELETE and MERGE lock the table they change until their transaction ends, and other
/// UPDATE, DELETE and MERGE statements on it wait. INSERTs "often can run in parallel with other INSERT and COPY
/// operations, and sometimes can run in parallel with an UPDATE, DELETE, or MERGE statement": here they take no lock,
/// run beside each other, and always wait while another session holds the table's lock. A lock is held to the end of
/// the request, also outside a transaction (where Snowflake releases it at the statement's end): longer, never
/// shorter.</item>
/// <item>Read consistency across sessions, under the account default READ_CONSISTENCY_MODE = SESSION: a statement sees
/// what was committed before its session started and what its own session did, but "might not see" what another,
/// concurrently running session committed since. Here such a commit stays invisible until <see cref="ReadLag"/> after
/// it (the documentation gives no bound; the release note of 2025-09-19 calls them "near-concurrent" changes).</item>
/// <item>A DML statement works on the latest committed rows of the table it changes: they are locked to it, and a
/// statement that changed an older version would undo the commit it waited for. So do the transaction's later reads of
/// a table it changed with UPDATE, DELETE or MERGE (no other session can change it until the transaction ends); a
/// statement sees the changes of earlier statements of its own transaction ("Read committed isolation").</item>
/// </list>
/// A read of a table the transaction only inserted into would see its own rows beside a possibly stale view of the
/// others'; the double cannot serve that mix, so it reports it as a violation when another session's commit is at stake.
/// <para>
/// How a statement is given an older view of a table: when the commits it must not see only appended rows there (the
/// landing tables, appended to by every landing), a view of the rows that were there before the first of them (DuckDB
/// gives appended rows higher row ids than every row before them, deleted ones included; see <see cref="Session.Prepare"/>
/// for why no row id changes while such a view may be served); otherwise a copy of the table as that commit's snapshot
/// saw it. The view is what keeps a statement's cost independent of the table's size, as Snowflake's reads of an older
/// table version are (a copy of a million landed rows took the double's one database about a second, twice per
/// modelling transaction).
/// </para>
/// </summary>
internal sealed partial class SnowflakeSessions : IDisposable
{
    private readonly DuckDBConnection _database;
    private readonly Action<string> _violation;
    private readonly Func<TimeSpan> _now;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _tableLocks = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, TimeSpan> _inFlight = new(StringComparer.Ordinal);

    /// <summary>
    /// Taken by <see cref="Open"/>, which reads the clock and adds the session in two steps outside the double's database
    /// lock (a request opens its session on arrival), and by <see cref="Record"/> reading the horizon: a session opening
    /// meanwhile is then either counted or starts no earlier than the horizon, never shown a commit it must not see yet.
    /// The clock (<c>now</c>) must be monotonic and cheap: it is read under the gate.
    /// </summary>
    private readonly Lock _inFlightGate = new();
    private readonly List<Commit> _commits = []; // Used under the double's database lock, as everything below but the count of sessions opened.
    private readonly string _spill = Path.Combine(Path.GetTempPath(), $"snowflake-double-{Guid.NewGuid():N}");
    private string[]? _tables;
    private string? _catalog;
    private int _copies;
    private int _sessionsOpened;

    public SnowflakeSessions(DuckDBConnection database, Func<TimeSpan> now, Action<string> violation)
    {
        _database = database;
        _now = now;
        _violation = violation;
        Directory.CreateDirectory(_spill);
    }

    /// <summary>How long another session's commit stays invisible to a statement of a session started before it.</summary>
    public TimeSpan ReadLag { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Statements that were served a view older than the database's current state (for tests of the double).</summary>
    public int LaggedReads { get; private set; }

    /// <summary>Tables served to lagged reads as views of their rows before hidden appends (for tests of the double).</summary>
    public int ViewsServed { get; private set; }

    /// <summary>Tables served to lagged reads as copies from a snapshot (for tests of the double).</summary>
    public int CopiesServed { get; private set; }

    /// <summary>Sessions opened so far (for tests of the double, to act once a request's session has started).</summary>
    public int SessionsOpened => Volatile.Read(ref _sessionsOpened);

    /// <summary>A new session: a request that has arrived. Its view of other sessions' commits starts now.</summary>
    public Session Open(string handle)
    {
        TimeSpan started;
        lock (_inFlightGate)
        {
            started = _now();
            _inFlight[handle] = started;
        }

        Interlocked.Increment(ref _sessionsOpened);
        return new Session(this, handle, started);
    }

    /// <summary>The table an UPDATE, DELETE or MERGE locks, or null for any other statement.</summary>
    public static string? LockedTable(string sql) => LockingDml().Match(sql) is { Success: true } m ? m.Groups["table"].Value.ToUpperInvariant() : null;

    /// <summary>Whether the statement, past its leading comments, starts with <paramref name="keyword"/>.</summary>
    public static bool StartsWith(string sql, string keyword) =>
        Regex.IsMatch(sql, $@"^{LeadingComments}{keyword}\b", RegexOptions.IgnoreCase | RegexOptions.Singleline);

    /// <summary>Whitespace and comments before a statement's first word.</summary>
    internal const string LeadingComments = @"(\s|--[^\n]*(\n|$)|/\*.*?\*/)*";

    /// <summary>The table a statement changes (rows or definition), or null when it changes none.</summary>
    public static string? ChangedTable(string sql) => ChangingStatement().Match(sql) is { Success: true } m ? m.Groups["table"].Value.ToUpperInvariant() : null;

    /// <summary>Waits for the lock of <paramref name="table"/> unless <paramref name="held"/> has it already.</summary>
    public async Task AcquireAsync(string table, Dictionary<string, SemaphoreSlim> held)
    {
        if (held.ContainsKey(table))
        {
            return;
        }

        var gate = _tableLocks.GetOrAdd(table, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        held[table] = gate;
    }

    /// <summary>An INSERT that only appends rows (not one that updates rows on a conflict).</summary>
    private static bool IsAppend(string sql) => Insert().IsMatch(sql) && !OnConflict().IsMatch(WithoutComments(sql));

    /// <summary>
    /// Whether <paramref name="sql"/> (in DuckDB's words) is an INSERT that only appends rows and reads no table: nothing
    /// is joined, and every FROM names one parenthesised SELECT or VALUES (the rows of a bind variable are one), with at
    /// most an alias after it, so no table can hide in a list after a comma; a table read inside one has a FROM of its
    /// own, checked the same way. Such a statement needs no view of other sessions' commits,
    /// so the double can run it beside the others.
    /// </summary>
    public static bool AppendsReadingNoTable(string sql)
    {
        if (!IsAppend(sql))
        {
            return false;
        }

        var code = WithoutComments(sql);
        if (Regex.IsMatch(code, @"\bJOIN\b", RegexOptions.IgnoreCase))
        {
            return false;
        }

        foreach (Match from in Regex.Matches(code, @"\bFROM\b\s*", RegexOptions.IgnoreCase))
        {
            var open = from.Index + from.Length;
            if (open >= code.Length || code[open] != '(' || !Regex.IsMatch(code[(open + 1)..], @"^\s*(SELECT|VALUES)\b", RegexOptions.IgnoreCase)
                || ClosingParenthesis(code, open) is not { } close
                || !Regex.IsMatch(code[(close + 1)..], @"^\s*((AS\s+)?[A-Za-z_][A-Za-z0-9_]*)?\s*(\)|$)", RegexOptions.IgnoreCase))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The index of the parenthesis that closes the one at <paramref name="open"/> (the service's SQL has none inside literals).</summary>
    private static int? ClosingParenthesis(string code, int open)
    {
        var depth = 0;
        for (var i = open; i < code.Length; i++)
        {
            depth += code[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (depth == 0)
            {
                return i;
            }
        }

        return null;
    }

    [GeneratedRegex(@"\bON\s+CONFLICT\b", RegexOptions.IgnoreCase)]
    private static partial Regex OnConflict();

    /// <summary>The table an INSERT appends to, or null for any other statement.</summary>
    public static string? InsertedTable(string sql) => Insert().Match(sql) is { Success: true } m ? m.Groups["table"].Value.ToUpperInvariant() : null;

    /// <summary>
    /// Waits, before an INSERT into <paramref name="table"/>, until no other session holds its lock; takes no lock
    /// (INSERTs run beside each other).
    /// </summary>
    public async Task WaitUntilUnlockedAsync(string table, Dictionary<string, SemaphoreSlim> held)
    {
        if (held.ContainsKey(table))
        {
            return;
        }

        var gate = _tableLocks.GetOrAdd(table, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        gate.Release();
    }

    /// <summary>A request that ends without running (refused before it reached the database) holds back no commit.</summary>
    public void Forget(string handle) => _inFlight.TryRemove(handle, out _);

    /// <summary>A table a statement reads through an older view of it: a temporary view or a temporary copy of that name.</summary>
    public readonly record struct Shadow(string Table, bool IsView);

    public static void Release(Dictionary<string, SemaphoreSlim> held)
    {
        foreach (var gate in held.Values)
        {
            gate.Release();
        }

        held.Clear();
    }

    public void Dispose()
    {
        foreach (var commit in _commits)
        {
            commit.Before?.Dispose();
        }

        _commits.Clear();
        try
        {
            Directory.Delete(_spill, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder; the system cleans it.
        }
    }

    private string[] Tables()
    {
        if (_tables is null)
        {
            using var command = _database.CreateCommand();
            command.CommandText = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_catalog = current_database()";
            using var reader = command.ExecuteReader();
            var names = new List<string>();
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }

            _tables = [.. names];
        }

        return _tables;
    }

    /// <summary>The database's own catalog, so that a temporary view can name the table it shadows.</summary>
    private string Catalog()
    {
        if (_catalog is null)
        {
            using var command = _database.CreateCommand();
            command.CommandText = "SELECT current_database()";
            _catalog = (string)command.ExecuteScalar()!;
        }

        return _catalog;
    }

    internal static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>The database as it is now, kept for statements that must not see the commit about to happen.</summary>
    private DuckDBConnection Snapshot()
    {
        var snapshot = _database.Duplicate();
        snapshot.Open();
        Execute(snapshot, "BEGIN TRANSACTION");
        // DuckDB starts a transaction's view at its first read, not at BEGIN.
        Execute(snapshot, "SELECT COUNT(*) FROM information_schema.tables");
        return snapshot;
    }

    private void Record(Session session, HashSet<string> tables, DuckDBConnection? before, HashSet<string> appendedOnly)
    {
        _inFlight.TryRemove(session.Handle, out _);
        if (tables.Count > 0 && before is not null)
        {
            _commits.Add(new Commit(_now(), tables, before, appendedOnly));
        }
        else
        {
            before?.Dispose();
        }

        // A commit matters to a statement only if it came after the statement's session started: the oldest session
        // still running (or, with none, now) says which can go.
        // Read in one pass: "IsEmpty, then Min()" threw ("Sequence contains no elements") when the last other session
        // ended between the two, as appends run beside the database lock end theirs outside it. Enumerated in place (a
        // ConcurrentDictionary's Values takes every one of its locks): adds wait for the gate, and a removal only moves
        // the horizon later.
        TimeSpan horizon;
        lock (_inFlightGate)
        {
            horizon = _now();
            foreach (var (_, started) in _inFlight)
            {
                horizon = started < horizon ? started : horizon;
            }
        }

        var expired = _commits.TakeWhile(c => c.At <= horizon).ToArray();
        foreach (var commit in expired)
        {
            commit.Before?.Dispose();
        }

        _commits.RemoveRange(0, expired.Length);
    }

    [GeneratedRegex(@"^" + LeadingComments + @"(UPDATE|DELETE\s+FROM|MERGE\s+INTO)\s+(?<table>[A-Za-z_][A-Za-z0-9_$]*)", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex LockingDml();

    /// <summary>The statement without its <c>--</c> and <c>/* */</c> comments (the service's SQL has neither inside string literals).</summary>
    private static string WithoutComments(string sql) => Comments().Replace(sql, " ");

    [GeneratedRegex(@"--[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comments();

    [GeneratedRegex(@"^" + LeadingComments + @"INSERT\s+INTO\s+(?<table>[A-Za-z_][A-Za-z0-9_$]*)", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Insert();

    [GeneratedRegex(@"^" + LeadingComments + @"(INSERT\s+INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO|CREATE\s+(TRANSIENT\s+|TEMP\s+|TEMPORARY\s+)?TABLE(\s+IF\s+NOT\s+EXISTS)?|DROP\s+TABLE(\s+IF\s+EXISTS)?|ALTER\s+TABLE(\s+IF\s+EXISTS)?)\s+(?<table>[A-Za-z_][A-Za-z0-9_$]*)", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex ChangingStatement();

    /// <summary>
    /// A commit other sessions may not see yet: when, the tables it changed, the database just before it, and the tables
    /// it only appended rows to.
    /// </summary>
    private sealed record Commit(TimeSpan At, HashSet<string> Tables, DuckDBConnection? Before, HashSet<string> AppendedOnly);

    /// <summary>One request's session: what it has changed and locked, and the view each of its statements gets.</summary>
    public sealed class Session(SnowflakeSessions rules, string handle, TimeSpan started)
    {
        private readonly HashSet<string> _locked = new(StringComparer.OrdinalIgnoreCase);
        private readonly HashSet<string> _inserted = new(StringComparer.OrdinalIgnoreCase);
        private readonly HashSet<string> _insertedInTransaction = new(StringComparer.OrdinalIgnoreCase); // Gone with a rollback.
        private readonly HashSet<string> _pending = new(StringComparer.OrdinalIgnoreCase);
        private readonly HashSet<string> _committed = new(StringComparer.OrdinalIgnoreCase);
        private readonly HashSet<string> _rewritten = new(StringComparer.OrdinalIgnoreCase); // Changed other than by appending.
        private DuckDBConnection? _before;

        public string Handle => handle;

        /// <summary>When the session started, by the double's clock.</summary>
        public TimeSpan Started => started;

        /// <summary>
        /// Before statement <paramref name="sql"/> runs (at <paramref name="at"/>, by the double's clock): the tables it reads
        /// whose recent commits by other sessions it must not see are shadowed by temporary views or copies as they were
        /// then. Returns what was shadowed, for <see cref="Unshadow"/>.
        /// <para>
        /// A table the hidden commits only appended to is read through the rows up to the highest row id it held in the
        /// snapshot before the first of them. That snapshot stays open while the commit may be hidden, and DuckDB renumbers
        /// row ids only when a checkpoint vacuums row groups, which it does only with no other transaction open (duckdb
        /// src/transaction/duck_transaction_manager.cpp: a checkpoint at commit with other transactions active cannot
        /// vacuum), so the bound holds as long as it is used.
        /// </para>
        /// </summary>
        public Shadow[] Prepare(string sql, TimeSpan at)
        {
            var changes = ChangedTable(sql);
            if (changes is not null)
            {
                KeepDatabaseBefore();
            }

            if (rules.ReadLag <= TimeSpan.Zero || rules._commits.Count == 0)
            {
                return [];
            }

            var horizon = TimeSpan.FromTicks(Math.Max(started.Ticks, (at - rules.ReadLag).Ticks));
            var unseen = rules._commits.Where(c => c.At > horizon).ToArray();
            if (unseen.Length == 0)
            {
                return [];
            }

            var shadowed = new List<Shadow>();
            var code = WithoutComments(sql); // A table a comment names is not read.
            try
            {
                foreach (var table in rules.Tables())
                {
                    if (table.Equals(changes, StringComparison.OrdinalIgnoreCase) || _locked.Contains(table)
                        || !unseen.Any(c => c.Tables.Contains(table))
                        || !Regex.IsMatch(code, $@"\b{Regex.Escape(table)}\b", RegexOptions.IgnoreCase))
                    {
                        continue;
                    }

                    if (_inserted.Contains(table))
                    {
                        rules._violation(
                            $"a statement read {table}, which its session had inserted into, while another session's commit there was not yet visible to it: " +
                            "Snowflake promises no view that holds both (sql-reference/transactions, read consistency across sessions)");
                        continue;
                    }

                    // The database before the first commit this statement must not see.
                    var before = unseen[0].Before!;
                    if (unseen.All(c => !c.Tables.Contains(table) || c.AppendedOnly.Contains(table)))
                    {
                        // Only appends to hide: the rows that were there before the first of them.
                        var highest = Convert.ToInt64(
                            ReadBefore(before, table, $"SELECT COALESCE(MAX(rowid), -1) FROM main.{table}"), System.Globalization.CultureInfo.InvariantCulture);
                        Execute(rules._database, $"CREATE TEMP VIEW {table} AS SELECT * FROM \"{rules.Catalog()}\".main.{table} WHERE rowid <= {highest}");
                        shadowed.Add(new Shadow(table, IsView: true));
                        rules.ViewsServed++;
                        continue;
                    }

                    var path = Path.Combine(rules._spill, $"{Interlocked.Increment(ref rules._copies)}.parquet");
                    ReadBefore(before, table, $"COPY (SELECT * FROM main.{table}) TO '{path}' (FORMAT PARQUET)");

                    Execute(rules._database, $"CREATE TEMP TABLE {table} AS SELECT * FROM main.{table} WHERE FALSE");
                    shadowed.Add(new Shadow(table, IsView: false)); // Dropped below if the copy fails.
                    Execute(rules._database, $"INSERT INTO temp.main.{table} BY NAME SELECT * FROM read_parquet('{path}')");
                    File.Delete(path);
                    rules.CopiesServed++;
                }
            }
            catch
            {
                // A statement that cannot be given its view does not run; nor may a half-made view outlive it.
                Unshadow([.. shadowed]);
                throw;
            }

            if (shadowed.Count > 0)
            {
                rules.LaggedReads++;
            }

            return [.. shadowed];
        }

        /// <summary>Runs <paramref name="sql"/> on a snapshot; a table it does not hold was created by a hidden commit.</summary>
        private static object? ReadBefore(DuckDBConnection before, string table, string sql)
        {
            try
            {
                using var command = before.CreateCommand();
                command.CommandText = sql;
                return command.ExecuteScalar();
            }
            catch (DuckDBException)
            {
                throw new InvalidOperationException($"Object '{table}' does not exist or not authorized (created by a session whose commit is not visible yet).");
            }
        }

        public void Unshadow(Shadow[] shadowed)
        {
            foreach (var (table, isView) in shadowed)
            {
                Execute(rules._database, $"DROP {(isView ? "VIEW" : "TABLE")} IF EXISTS temp.main.{table}");
            }
        }

        /// <summary>
        /// Before the session's first change (or, for an append run beside the others, before its commit): sessions that
        /// must not see its changes yet read the database as it was then.
        /// </summary>
        public void KeepDatabaseBefore()
        {
            if (rules.ReadLag > TimeSpan.Zero)
            {
                _before ??= rules.Snapshot();
            }
        }

        /// <summary>After statement <paramref name="sql"/> succeeded, inside an explicit transaction or not.</summary>
        public void Ran(string sql, bool inTransaction)
        {
            if (ChangedTable(sql) is not { } table)
            {
                return;
            }

            (inTransaction ? _pending : _committed).Add(table);
            if (LockedTable(sql) is not null)
            {
                _locked.Add(table);
                _rewritten.Add(table);
            }
            else if (StartsWith(sql, "INSERT"))
            {
                if (_inserted.Add(table) && inTransaction)
                {
                    _insertedInTransaction.Add(table);
                }

                if (!IsAppend(sql))
                {
                    _rewritten.Add(table);
                }
            }
            else
            {
                rules._tables = null; // A definition changed: the list of tables is read again.
                _rewritten.Add(table);
            }
        }

        public void Committed()
        {
            _committed.UnionWith(_pending);
            _pending.Clear();
            _locked.Clear();
            _insertedInTransaction.Clear();
        }

        public void RolledBack()
        {
            _pending.Clear();
            _locked.Clear();
            // The rows it inserted are gone: a later read of those tables mixes nothing of its own with others' commits.
            _inserted.ExceptWith(_insertedInTransaction);
            _insertedInTransaction.Clear();
        }

        /// <summary>The request is over: what it committed becomes a commit other sessions see after the read lag.</summary>
        public void End() => rules.Record(
            this, _committed, _before, new HashSet<string>(_committed.Except(_rewritten), StringComparer.OrdinalIgnoreCase));
    }
}
