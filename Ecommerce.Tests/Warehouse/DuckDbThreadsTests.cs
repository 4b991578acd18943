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
    public async Task Writes_run_on_one_thread_and_plain_reads_on_duckdbs_own_count()
    {
        using var directory = new TempDirectory();
        var path = directory.File("warehouse.duckdb");
        var own = DuckDbsOwnCount();
        await using var provider = new DuckDbWarehouseProvider($"Data Source={path}");
        // Another connection of the same file shares the database instance, and reads its setting without widening it.
        using var side = new DuckDBConnection($"Data Source={path}");
        side.Open();
        Assert.Equal(1, Threads(side));

        await provider.QueryAsync(new SqlStatement("SELECT 42"), CancellationToken.None);
        Assert.Equal(own, Threads(side)); // Kept until a write needs it narrow: the queries of a refresh share it.
        await provider.QueryAsync(new SqlStatement("SELECT 43"), CancellationToken.None);
        Assert.Equal(own, Threads(side));

        await provider.ExecuteTransactionAsync([new SqlStatement("CREATE TABLE T (N INTEGER)")], CancellationToken.None);
        Assert.Equal(1, Threads(side));
        await provider.QueryAsync(new SqlStatement("SELECT COUNT(*) FROM T"), CancellationToken.None);
        Assert.Equal(own, Threads(side));
        await provider.ExecuteTransactionAsync([new SqlStatement("INSERT INTO T VALUES (1)")], CancellationToken.None);
        Assert.Equal(1, Threads(side));
    }

    [Fact]
    public void A_write_while_a_plain_read_runs_keeps_the_threads_the_read_has()
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        var own = Threads(connection);
        var threads = DuckDbThreads.Narrow(connection, "Data Source=:memory:", NullLogger.Instance);
        if (own == 1)
        {
            Assert.Null(threads); // Nothing to narrow on a machine of one core.
            return;
        }

        Assert.NotNull(threads);
        Assert.Equal(1, Threads(connection));
        using (threads.Widen(connection))
        {
            using (threads.Widen(connection))
            {
                Assert.Equal(own, Threads(connection));
            }

            threads.NarrowForWrite(connection); // One read still runs.
            Assert.Equal(own, Threads(connection));
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
