using DuckDB.NET.Data;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// DuckDB's worker threads for one database in this process: none beside the calling thread for write transactions
/// (<c>threads = 1</c>), and as many as DuckDB chose by itself (one per core) for reads that scan the warehouse, the
/// analytics queries (<see cref="SqlStatement.ScansWarehouse"/>), and for schema scripts (a migration may backfill
/// from every row). Unless the connection string sets <c>threads</c>, which then holds throughout.
/// <para>
/// Why: a batch's statements are small (a MERGE of a few dozen to a few thousand rows, an append, a commit) and gain
/// nothing from a second thread, while DuckDB hands parts of each statement to its workers and the calling thread polls
/// for them to finish. On two cores, where the consume loop keeps the other core busy at high rates, that cost an eighth
/// to a fifth of the ingestion service's CPU per order in steady state (README, "Measured"). An analytics query over a large
/// warehouse does gain from the cores, so such a read widens the count and the next write transaction narrows it
/// again, once no such read runs (lazily, so that the queries of one dashboard refresh share one widening: DuckDB
/// starts its worker threads afresh each time, and a query on fresh threads took about a fifth longer). <c>threads</c>
/// is a global setting of the database instance (https://duckdb.org/docs/stable/configuration/overview, scope GLOBAL),
/// so the count is kept per database, and a write made while such a read runs keeps the wider count. DuckDB applies a
/// new count when a query ends, stopping surplus workers after their current task.
/// </para>
/// </summary>
internal sealed partial class DuckDbThreads
{
    private readonly Lock _lock = new();
    private readonly ILogger _logger;
    private int _reads;
    private bool _wide;
    private bool _failed;

    private DuckDbThreads(long forReads, ILogger logger)
    {
        ForReads = forReads;
        _logger = logger;
    }

    /// <summary>What DuckDB would use for a read that scans the warehouse (its count before it was narrowed).</summary>
    public long ForReads { get; }

    /// <summary>
    /// Narrows a newly opened database to one thread, unless <paramref name="connectionString"/> sets the count or DuckDB
    /// uses one anyway; null then (nothing to widen). Best effort: a database whose count cannot be read or set keeps
    /// DuckDB's.
    /// </summary>
    public static DuckDbThreads? NarrowOnOpen(DuckDBConnection connection, string connectionString, ILogger logger)
    {
        var builder = new DuckDBConnectionStringBuilder { ConnectionString = connectionString };
        if (builder.ContainsKey("threads") || builder.ContainsKey("worker_threads"))
        {
            return null;
        }

        long threads;
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT current_setting('threads')";
            threads = Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogThreadsNotRead(logger, ex.Message);
            return null;
        }

        var narrowed = new DuckDbThreads(threads, logger);
        return threads > 1 && narrowed.TrySet(connection, 1) ? narrowed : null;
    }

    /// <summary>
    /// Gives DuckDB its threads back, on <paramref name="connection"/> (the read's or the script's, open and in no
    /// transaction), unless they are back already; the returned value ends this hold on them when disposed.
    /// </summary>
    public Widening Widen(DuckDBConnection connection)
    {
        lock (_lock)
        {
            WidenUnlessWide(connection);
            _reads++;
        }

        return new Widening(this);
    }

    /// <summary>
    /// Before a transaction of the writer (a batch's, or a read of staged rows), on its connection (in no transaction yet):
    /// narrows DuckDB to one thread again, unless a read that scans the warehouse still runs or it is narrow already.
    /// </summary>
    public void NarrowForTransaction(DuckDBConnection writer)
    {
        lock (_lock)
        {
            if (_wide && _reads == 0)
            {
                _wide = !TrySet(writer, 1);
            }
        }
    }

    /// <summary>
    /// When the last provider of the database in this process closes (no read runs then): DuckDB's own count again, for
    /// the checkpoint at closing and for whoever opens the database next while DuckDB still keeps it open.
    /// </summary>
    public void Restore(DuckDBConnection writer)
    {
        lock (_lock)
        {
            WidenUnlessWide(writer);
        }
    }

    /// <summary>DuckDB's own count, unless it has it already; under the lock.</summary>
    private void WidenUnlessWide(DuckDBConnection connection)
    {
        if (!_wide)
        {
            _wide = TrySet(connection, ForReads);
        }
    }

    private void End()
    {
        lock (_lock)
        {
            _reads--;
        }
    }

    /// <summary>Sets the count; after a first failure (logged) no more tries: the count stays as it is.</summary>
    private bool TrySet(DuckDBConnection connection, long threads)
    {
        if (_failed)
        {
            return false;
        }

        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SET GLOBAL threads = {threads}";
            command.ExecuteNonQuery();
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _failed = true;
            LogThreadsNotSet(_logger, threads, ex.Message);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "DuckDB's worker threads could not be set to {Threads}, and are left as they are: {Reason}")]
    private static partial void LogThreadsNotSet(ILogger logger, long threads, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DuckDB's worker threads could not be read, and are left as they are: {Reason}")]
    private static partial void LogThreadsNotRead(ILogger logger, string reason);

    /// <summary>A read's or a script's hold on DuckDB's threads (<see cref="Widen"/>); disposing it ends the hold.</summary>
    public readonly struct Widening(DuckDbThreads? threads) : IDisposable
    {
        public void Dispose() => threads?.End();
    }
}
