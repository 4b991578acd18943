using DuckDB.NET.Data;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ecommerce.Tests.Warehouse;

/// <summary>
/// DuckDB's worker threads (<see cref="DuckDbThreads"/>): one for write transactions, DuckDB's own count for analytics
/// queries and scripts, or throughout what the connection string says. Read as the setting (<c>current_setting</c>),
/// which DuckDB applies to its workers when a query ends; the steady-state benchmark shows no worker thread left.
/// </summary>
[Trait("Category", "Fast")]
public sealed class DuckDbThreadsTests
{
    [Fact]
    public async Task Writes_run_on_one_thread_and_analytics_reads_on_duckdbs_own_count()
    {
        using var directory = new TempDirectory();
        var path = directory.File("warehouse.duckdb");
        // Another connection of the same file shares the database instance, and reads its setting without widening it.
        // Opened first, with four threads whatever this machine's cores: the provider takes them for DuckDB's own count.
        using var side = new DuckDBConnection($"Data Source={path}");
        side.Open();
        SetThreads(side, 4);
        const long own = 4;
        await using (var provider = new DuckDbWarehouseProvider($"Data Source={path}"))
        {
            Assert.Equal(1, Threads(side));

            await provider.QueryAsync(new SqlStatement("SELECT 41"), CancellationToken.None);
            Assert.Equal(1, Threads(side)); // A read the service makes for itself stays narrow.
            await provider.QueryAsync(new SqlStatement("SELECT 42") { ScansWarehouse = true }, CancellationToken.None);
            Assert.Equal(own, Threads(side)); // Kept until a write needs it narrow: the queries of a refresh share it.
            await provider.QueryAsync(new SqlStatement("SELECT 43") { ScansWarehouse = true }, CancellationToken.None);
            Assert.Equal(own, Threads(side));

            await provider.ExecuteTransactionAsync([new SqlStatement("CREATE TABLE T (N INTEGER)")], CancellationToken.None);
            Assert.Equal(1, Threads(side));
            await provider.ExecuteScriptAsync("CREATE TABLE IF NOT EXISTS U (N INTEGER)", CancellationToken.None);
            Assert.Equal(own, Threads(side)); // A script (a migration may scan every row) on every core too.
            await provider.ExecuteTransactionAsync([new SqlStatement("INSERT INTO U VALUES (1)")], CancellationToken.None);
            Assert.Equal(1, Threads(side));
            await provider.QueryAsync(new SqlStatement("SELECT COUNT(*) FROM T") { ScansWarehouse = true }, CancellationToken.None);
            Assert.Equal(own, Threads(side));
            await provider.ExecuteTransactionAsync([new SqlStatement("INSERT INTO T VALUES (1)")], CancellationToken.None);
            Assert.Equal(1, Threads(side));

            // A read of staged rows runs under the write lock, in a transaction, as a batch's reads do: narrow too.
            await provider.QueryAsync(new SqlStatement("SELECT 44") { ScansWarehouse = true }, CancellationToken.None);
            Assert.Equal(own, Threads(side));
            var staged = await provider.QueryAsync(SqlStatement.WithSources("SELECT COUNT(*) FROM {ids}",
                new RowSet("ids", [new Column("ID", ColumnType.Text)], [["a"]])), CancellationToken.None);
            Assert.Equal(1L, staged[0][0]);
            Assert.Equal(1, Threads(side));
        }

        // The last provider of the file gives DuckDB its own count back, for whoever opens it next while DuckDB keeps it.
        Assert.Equal(own, Threads(side));
        await using var next = new DuckDbWarehouseProvider($"Data Source={path}");
        Assert.Equal(1, Threads(side));
        await next.QueryAsync(new SqlStatement("SELECT 45") { ScansWarehouse = true }, CancellationToken.None);
        Assert.Equal(own, Threads(side));
    }

    [Fact]
    public void A_write_while_an_analytics_read_runs_keeps_the_threads_the_read_has()
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        SetThreads(connection, 4); // Whatever this machine's cores.
        var threads = DuckDbThreads.NarrowOnOpen(connection, "Data Source=:memory:", NullLogger.Instance);
        Assert.NotNull(threads);
        Assert.Equal(1, Threads(connection));
        using (threads.Widen(connection))
        {
            using (threads.Widen(connection))
            {
                Assert.Equal(4, Threads(connection));
            }

            threads.NarrowForTransaction(connection); // One read still runs.
            Assert.Equal(4, Threads(connection));
        }

        threads.NarrowForTransaction(connection);
        Assert.Equal(1, Threads(connection));
    }

    [Fact]
    public async Task A_count_in_the_connection_string_holds_for_writes_and_reads()
    {
        using var directory = new TempDirectory();
        var path = directory.File("warehouse.duckdb");
        await using var provider = new DuckDbWarehouseProvider($"Data Source={path};Threads=3");
        using var side = new DuckDBConnection($"Data Source={path};Threads=3");
        side.Open();
        Assert.Equal(3, Threads(side));

        await provider.QueryAsync(new SqlStatement("SELECT 42") { ScansWarehouse = true }, CancellationToken.None);
        Assert.Equal(3, Threads(side));
        await provider.ExecuteTransactionAsync([new SqlStatement("CREATE TABLE T (N INTEGER)")], CancellationToken.None);
        Assert.Equal(3, Threads(side));
    }

    private static void SetThreads(DuckDBConnection connection, long threads)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SET GLOBAL threads = {threads}";
        command.ExecuteNonQuery();
    }

    private static long Threads(DuckDBConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT current_setting('threads')";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
