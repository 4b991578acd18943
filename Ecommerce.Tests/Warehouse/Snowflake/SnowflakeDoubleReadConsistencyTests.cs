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
/// random rounds of appends, deletes and updates committed before a session starts and while it waits.
/// </summary>
public sealed class SnowflakeDoubleReadConsistencyTests : IAsyncLifetime
{
    private const int Rounds = 14;
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
        var laggedBefore = _double.LaggedReads;
        for (var round = 0; round < Rounds; round++)
        {
            for (var i = random.Next(0, 3); i > 0; i--)
            {
                await ApplyAsync(model, RandomChange(random, ref nextId, appendOnly: false));
            }

            var expected = model.ToArray();

            // The reading session: six statements' latency before its read, which copies what it sees into SEEN.
            var requestsBefore = _double.Requests.Count;
            var reading = _client.ExecuteAsync(
                string.Concat(Enumerable.Repeat("SELECT 1; ", 6)) + $"INSERT INTO SEEN SELECT {round}, ID, V FROM T", [], 7, CancellationToken.None);
            while (_double.Requests.Count == requestsBefore)
            {
                await Task.Delay(5);
            }

            await Task.Delay(20);
            var onlyAppends = random.Next(3) > 0;
            appendsOnly += onlyAppends ? 1 : 0;
            for (var i = random.Next(1, 4); i > 0; i--)
            {
                await ApplyAsync(model, RandomChange(random, ref nextId, onlyAppends));
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
        Assert.True(_double.LaggedReads - laggedBefore >= Rounds, $"{_double.LaggedReads - laggedBefore} lagged reads in {Rounds} rounds");
        Assert.Empty(_double.Violations);
    }

    /// <summary>A change as SQL and as the same change to the model.</summary>
    private sealed record Change(string Sql, Action<SortedDictionary<long, string>> Apply);

    private static Change RandomChange(Random random, ref long nextId, bool appendOnly)
    {
        var kind = appendOnly ? 0 : random.Next(3);
        var from = random.NextInt64(0, Math.Max(1, nextId));
        return kind switch
        {
            0 => Insert(ref nextId, random.Next(1, 3) == 1 ? random.Next(1, 50) : random.Next(1_000, 40_000)),
            1 => Delete(from, from + random.Next(100, 50_000), random.Next(1, 4), 0),
            _ => Update(from, from + random.Next(100, 50_000), random.Next(1, 4)),
        };
    }

    private static Change Insert(ref long nextId, int count)
    {
        var first = nextId;
        nextId += count;
        return new($"INSERT INTO T SELECT i, 'v' || i FROM range({first}, {first + count}) AS r(i)", model =>
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
        await RunAsync(change.Sql);
        change.Apply(model);
    }

    private async Task RunAsync(string sql) => await _client.ExecuteAsync(sql, [], 1, CancellationToken.None);

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
