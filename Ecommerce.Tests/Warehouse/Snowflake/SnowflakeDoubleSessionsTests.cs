using System.Diagnostics;
using DuckDB.NET.Data;
using Ecommerce.Testing.Snowflake;

namespace Ecommerce.Tests.Warehouse.Snowflake;

/// <summary>
/// The SQL API double's record of sessions in flight, on its own: sessions open and end on many threads at once (an
/// append runs beside the database lock and forgets its session outside it), and a session's end must record its
/// commit whatever the others do meanwhile. A failure here once left the double's database lock taken: the
/// differential suite hung in its clean-up.
/// </summary>
public sealed class SnowflakeDoubleSessionsTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_session_ends_cleanly_while_others_open_and_end_beside_it()
    {
        using var database = new DuckDBConnection("DataSource=:memory:");
        database.Open();
        var clock = Stopwatch.StartNew();
        var violations = new List<string>();
        using var sessions = new SnowflakeSessions(database, () => clock.Elapsed, violations.Add);

        // Another thread keeps one session at a time in flight, so that the set is empty and not empty by turns.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var churned = 0L;
        var churn = Task.Factory.StartNew(() =>
        {
            for (; !stop.IsCancellationRequested; churned++)
            {
                var handle = $"beside-{churned}";
                sessions.Open(handle);
                sessions.Forget(handle);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        var ended = 0;
        Exception? failure = null;
        while (!stop.IsCancellationRequested && failure is null)
        {
            try
            {
                sessions.Open($"ending-{ended}").End();
                ended++;
            }
            catch (InvalidOperationException ex)
            {
                failure = ex;
            }
        }

        await churn;
        Assert.True(failure is null, $"a session's end failed after {ended:N0} ends beside {churned:N0} other sessions: {failure}");
        Assert.True(ended > 1_000 && churned > 1_000, $"too few sessions to tell: {ended} ended, {churned} beside them");
        Assert.Empty(violations);
    }
}
