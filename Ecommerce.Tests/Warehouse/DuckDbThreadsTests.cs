using DuckDB.NET.Data;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ecommerce.Tests.Warehouse;

/// <summary>
/// DuckDB's worker threads (<see cref="DuckDbThreads"/>): one for write transactions, DuckDB's own count for plain
/// reads, or throughout what the connection string says.
/// </summary>
[Trait("Category", "Fast")]
public sealed class DuckDbThreadsTests
{
    /// <summary>What DuckDB chooses by itself on this machine (one thread per core).</summary>
    private static long DuckDbsOwnCount()
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        return Threads(connection);
    }

    [Fact]
    public async Task Writes_run_on_one_thread_and_analytics_reads_on_duckdbs_own_count()
    {
        using var directory = new TempDirectory();
        var path = directory.File("warehouse.duckdb");
        var own = DuckDbsOwnCount();
        // Another connection of the same file shares the database instance, and reads its setting without widening it.
        using var side = new DuckDBConnection($"Data Source={path}");
        await using (var provider = new DuckDbWarehouseProvider($"Data Source={path}"))
        {
            side.Open();
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
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SET GLOBAL threads = 4"; // Whatever this machine's cores.
            command.ExecuteNonQuery();
        }

        var threads = DuckDbThreads.Narrow(connection, "Data Source=:memory:", NullLogger.Instance);
        Assert.NotNull(threads);
        Assert.Equal(4, threads.ForReads);
        Assert.Equal(1, Threads(connection));
        using (threads.Widen(connection))
        {
            using (threads.Widen(connection))
            {
                Assert.Equal(4, Threads(connection));
            }

            threads.NarrowForWrite(connection); // One read still runs.
            Assert.Equal(4, Threads(connection));
        }

        threads.NarrowForWrite(connection);
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

        await provider.QueryAsync(new SqlStatement("SELECT 42"), CancellationToken.None);
        await provider.ExecuteTransactionAsync([new SqlStatement("CREATE TABLE T (N INTEGER)")], CancellationToken.None);
        Assert.Equal(3, Threads(side));
    }

    private static long Threads(DuckDBConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT current_setting('threads')";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
