using System.Globalization;
using Ecommerce.Consumer.Warehouse.Snowflake;
using Ecommerce.Testing.Snowflake;
using Ecommerce.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ecommerce.Tests.Warehouse.Snowflake;

/// <summary>
/// The SQL API double's read consistency (Snowflake's READ_CONSISTENCY_MODE = SESSION, docs.snowflake.com/en/sql-reference/transactions):
/// a statement of a session sees what was committed before the session started, and not what other sessions committed
/// after. The double serves that older view through a view of the rows that were there when only appends are to be
/// hidden, and through a copy otherwise; both are checked here against a model of the table kept in C#, over seeded
/// random rounds of appends, deletes and updates committed before a session starts and while it waits, alone or
/// together in one request, in transactions that commit or roll back.
/// </summary>
public sealed class SnowflakeDoubleReadConsistencyTests : IAsyncLifetime
{
    private const int Rounds = 10;
    private SnowflakeSqlApiDouble _double = null!;
    private HttpClient _http = null!;
    private SnowflakeSqlApiClient _client = null!;

    public async Task InitializeAsync()
    {
        _double = await SnowflakeSqlApiDouble.StartAsync();
        var options = _double.ClientOptions();
        options.Validate();
        _http = SnowflakeSqlApiClient.CreateHttpClient(options);
        _client = new SnowflakeSqlApiClient(_http, options, SnowflakeCredentials.From(options, TimeProvider.System), TimeProvider.System, TestMeters.Shared,
            NullLogger<SnowflakeSqlApiClient>.Instance);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _double.DisposeAsync();
    }

    [Theory(Timeout = 180_000)]
    [InlineData(20261205)]
    [InlineData(7)]
    public async Task A_session_reads_the_table_as_it_was_when_it_started_whatever_was_appended_deleted_or_updated_since(int seed)
    {
        var random = new Random(seed);
        await RunAsync("CREATE TABLE T (ID BIGINT, V VARCHAR)");
        await RunAsync("CREATE TABLE SEEN (ROUND_NO INTEGER, ID BIGINT, V VARCHAR)");
        _double.ReadLag = TimeSpan.FromSeconds(60);
        _double.StatementLatency = TimeSpan.FromMilliseconds(100);
        var model = new SortedDictionary<long, string>();
        var nextId = 0L;

        // More than one of DuckDB's row groups (122,880 rows), and deletes among them, before the first round.
        await ApplyAsync(model, Insert(ref nextId, 130_000));
        await ApplyAsync(model, Delete(0, 130_000, 5, 2));
        var appendsOnly = 0;
        var besideBefore = _double.AppendsRunBeside;
        var laggedBefore = _double.LaggedReads;
        var servedBefore = _double.OlderViewsServed;
        for (var round = 0; round < Rounds; round++)
        {
            for (var i = random.Next(0, 3); i > 0; i--)
            {
                await ApplyAsync(model, RandomChange(random, ref nextId, appendOnly: false));
            }

            var expected = model.ToArray();

            // The reading session: ten statements' latency before its read, which copies what it sees into SEEN. The
            // changes below are sent once its session has started, so none of them is committed before it. In odd
            // rounds it first inserts into T and rolls that back: the read then holds nothing of its own.
            var sessionsBefore = _double.SessionsOpened;
            var before = round % 2 == 1
                ? "BEGIN TRANSACTION; INSERT INTO T VALUES (-1, 'rolled back'); ROLLBACK; " + string.Concat(Enumerable.Repeat("SELECT 1; ", 7))
                : string.Concat(Enumerable.Repeat("SELECT 1; ", 10));
            var reading = _client.ExecuteAsync(before + $"INSERT INTO SEEN SELECT {round}, ID, V FROM T", [], 11, CancellationToken.None);
            while (_double.SessionsOpened == sessionsBefore)
            {
                await Task.Delay(5);
            }

            var onlyAppends = random.Next(3) > 0;
            appendsOnly += onlyAppends ? 1 : 0;
            var changes = new List<Change>();
            for (var i = random.Next(1, 4); i > 0; i--)
            {
                changes.Add(RandomChange(random, ref nextId, onlyAppends));
            }

            if (onlyAppends)
            {
                // Appends committed side by side, in whatever order they finish (the double runs appends from bind
                // variables or subqueries beside each other).
                await Task.WhenAll(changes.Select(c => RunAsync(c.Sql, c.Statements)));
                changes.ForEach(c => c.Apply(model));
            }
            else
            {
                foreach (var change in changes)
                {
                    await ApplyAsync(model, change);
                }
            }

            await reading;
            var seen = await _double.QueryAsync($"SELECT ID, V FROM SEEN WHERE ROUND_NO = {round} ORDER BY ID");
            var actual = seen.Select(r => new KeyValuePair<long, string>(Convert.ToInt64(r[0], CultureInfo.InvariantCulture), (string)r[1]!)).ToArray();
            Assert.True(expected.SequenceEqual(actual),
                $"seed {seed}, round {round} ({(onlyAppends ? "appends" : "changes")} since the session started): expected {expected.Length} rows, " +
                $"read {actual.Length}; first difference: {FirstDifference(expected, actual)}");
        }

        // Both ways of serving an older view ran.
        Assert.InRange(appendsOnly, 1, Rounds - 1);
        Assert.True(_double.LaggedReads > laggedBefore);
        Assert.True(_double.OlderViewsServed.Views > servedBefore.Views, "no view of the rows before hidden appends was served");
        Assert.True(_double.OlderViewsServed.Copies > servedBefore.Copies, "no copy from a snapshot was served");
        Assert.True(_double.AppendsRunBeside > besideBefore, "no append ran beside the double's database lock");
        Assert.Empty(_double.Violations);
    }

    /// <summary>
    /// An append the double runs beside the others (outside its database lock) keeps, for the sessions that must not see
    /// it, the database as it was just before its commit: a session that started while it was in flight (its INSERT
    /// done, its commit not) sees what other sessions committed meanwhile, beside or under the lock, and not the append.
    /// Kept from before its INSERT instead, that snapshot would hide those commits too.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task An_append_run_beside_the_others_is_hidden_from_a_session_started_before_its_commit_and_what_committed_meanwhile_is_not()
    {
        await RunAsync("CREATE TABLE T (ID BIGINT, V VARCHAR)");
        await RunAsync("CREATE TABLE SEEN (ROUND_NO INTEGER, ID BIGINT, V VARCHAR)");
        _double.ReadLag = TimeSpan.FromSeconds(60);
        var model = new SortedDictionary<long, string>();
        var nextId = 0L;
        await ApplyAsync(model, Insert(ref nextId, 1_000, beside: true));

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _double.HoldAppendsBeforeCommit = release.Task;
        var held = Insert(ref nextId, 1_000, beside: true);
        var holding = RunAsync(held.Sql);
        var viewsBefore = _double.OlderViewsServed.Views;
        try
        {
            while (_double.AppendsHeldBeforeCommit == 0)
            {
                await Task.Delay(5);
            }

            _double.HoldAppendsBeforeCommit = null;
            await ApplyAsync(model, Insert(ref nextId, 1_000, beside: true));
            await ApplyAsync(model, Insert(ref nextId, 500));

            // The reading session starts, then the held append commits, then (five statements' latency later) it reads.
            _double.StatementLatency = TimeSpan.FromMilliseconds(300);
            var sessionsBefore = _double.SessionsOpened;
            var reading = _client.ExecuteAsync(
                string.Concat(Enumerable.Repeat("SELECT 1; ", 5)) + "INSERT INTO SEEN SELECT 0, ID, V FROM T", [], 6, CancellationToken.None);
            while (_double.SessionsOpened == sessionsBefore)
            {
                await Task.Delay(5);
            }

            release.SetResult();
            await holding;
            await reading;
        }
        finally
        {
            release.TrySetResult(); // Whatever failed, the held append is not left waiting.
        }

        // The read was served a view (the held append had committed before it ran), not the table as it happened to be.
        Assert.True(_double.OlderViewsServed.Views > viewsBefore, "the held append committed after the read: nothing was tested");

        var seen = await _double.QueryAsync("SELECT ID, V FROM SEEN ORDER BY ID");
        var actual = seen.Select(r => new KeyValuePair<long, string>(Convert.ToInt64(r[0], CultureInfo.InvariantCulture), (string)r[1]!)).ToArray();
        var expected = model.ToArray();
        Assert.True(expected.SequenceEqual(actual),
            $"expected {expected.Length} rows, read {actual.Length}; first difference: {FirstDifference(expected, actual)}");
        held.Apply(model);
        Assert.Equal((long)model.Count, Convert.ToInt64((await _double.QueryAsync("SELECT COUNT(*) FROM T"))[0][0], CultureInfo.InvariantCulture));
        Assert.Equal(1, _double.AppendsHeldBeforeCommit);
        Assert.Empty(_double.Violations);
    }

    /// <summary>A change as SQL (one request of <see cref="Statements"/> statements) and as the same change to the model.</summary>
    private sealed record Change(string Sql, Action<SortedDictionary<long, string>> Apply, int Statements = 1);

    private static Change RandomChange(Random random, ref long nextId, bool appendOnly)
    {
        var kind = appendOnly ? 0 : random.Next(6);
        var from = random.NextInt64(0, Math.Max(1, nextId));
        var to = from + random.Next(100, 50_000);
        var insert = Insert(ref nextId, random.Next(1, 3) == 1 ? random.Next(1, 50) : random.Next(1_000, 40_000), beside: random.Next(2) == 0);
        return kind switch
        {
            0 => insert,
            1 => Delete(from, to, random.Next(1, 4), 0),
            2 => Update(from, to, random.Next(1, 4)),
            // A request that appends and deletes, in a transaction, or deletes and then appends: not only appends.
            3 => Together("BEGIN TRANSACTION", insert, Delete(from, to, random.Next(1, 4), 1), "COMMIT"),
            4 => Together(Delete(from, to, random.Next(1, 4), 2), insert),
            // An update rolled back, then an append: the table's hidden commit did append only, but the session changed
            // it otherwise first; either view is right, as long as it is the table before the append.
            _ => Together("BEGIN TRANSACTION", new Change($"UPDATE T SET V = V || 'r' WHERE ID >= {from} AND ID < {to}", _ => { }), "ROLLBACK", insert),
        };
    }

    /// <summary>Changes and bare statements (BEGIN, COMMIT, ROLLBACK) in one request, applied to the model in order.</summary>
    private static Change Together(params object[] parts)
    {
        var changes = parts.Select(p => p as Change ?? new Change((string)p, _ => { })).ToArray();
        return new(string.Join("; ", changes.Select(c => c.Sql)), model =>
        {
            // A rolled-back part leaves the model as it was: only ROLLBACK's own request shape uses it, with no-op parts.
            foreach (var change in changes)
            {
                change.Apply(model);
            }
        }, changes.Length);
    }

    /// <summary>
    /// Rows appended by one INSERT; <paramref name="beside"/>: from a subquery rather than a table function, the shape
    /// (no table read) that the double runs outside its database lock, as it does a landing's rows from a bind variable.
    /// </summary>
    private static Change Insert(ref long nextId, int count, bool beside = false)
    {
        var first = nextId;
        nextId += count;
        var rows = beside ? $"(SELECT unnest(range({first}, {first + count})) AS i)" : $"range({first}, {first + count}) AS r(i)";
        return new($"INSERT INTO T SELECT i, 'v' || i FROM {rows}", model =>
        {
            for (var id = first; id < first + count; id++)
            {
                model[id] = $"v{id}";
            }
        });
    }

    private static Change Delete(long from, long to, int every, int remainder) =>
        new($"DELETE FROM T WHERE ID >= {from} AND ID < {to} AND ID % {every} = {remainder}", model =>
        {
            foreach (var id in model.Keys.Where(id => id >= from && id < to && id % every == remainder).ToArray())
            {
                model.Remove(id);
            }
        });

    private static Change Update(long from, long to, int every) =>
        new($"UPDATE T SET V = V || 'u' WHERE ID >= {from} AND ID < {to} AND ID % {every} = 0", model =>
        {
            foreach (var id in model.Keys.Where(id => id >= from && id < to && id % every == 0).ToArray())
            {
                model[id] += "u";
            }
        });

    private async Task ApplyAsync(SortedDictionary<long, string> model, Change change)
    {
        await RunAsync(change.Sql, change.Statements);
        change.Apply(model);
    }

    private async Task RunAsync(string sql, int statements = 1) => await _client.ExecuteAsync(sql, [], statements, CancellationToken.None);

    private static string FirstDifference(KeyValuePair<long, string>[] expected, KeyValuePair<long, string>[] actual)
    {
        for (var i = 0; i < Math.Min(expected.Length, actual.Length); i++)
        {
            if (!expected[i].Equals(actual[i]))
            {
                return $"expected {expected[i]}, read {actual[i]}";
            }
        }

        return expected.Length > actual.Length ? $"missing {expected[actual.Length]}" : actual.Length > expected.Length ? $"extra {actual[expected.Length]}" : "none";
    }
}
