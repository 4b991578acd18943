using System.Globalization;
using DuckDB.NET.Data;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// The filter of a DuckDB file's stored order ids (<see cref="StoredOrderIds"/>) kept beside the file, e.g.
/// <c>shop.duckdb.order-ids</c>, so that a start reads it and the few ids stored after it was saved, instead of every
/// stored id (9 to 18 s at 30 million orders). It is saved in the background every <see cref="SaveEvery"/> stored
/// orders and at a clean stop, so a start after a crash reads about that many ids from the fact table (more if a save
/// failed: each failure is logged).
/// </summary>
/// <remarks>
/// Why a saved filter may be trusted:
/// <list type="bullet">
/// <item>It is saved with a mark, the one row of <c>ORDER_ID_FILTER</c>: the token written at the head of the saved
/// file, and FACT_ORDERS' row count, highest row id and the order id at that row, read under the write lock when every
/// id of those rows had been added to the filter. The filter is written after that, and its bits are only ever set,
/// so it holds every id of a row at or below the mark's row id.</item>
/// <item>DuckDB appends rows at higher row ids, and gives rows lower ones only when a checkpoint compacts row groups
/// that hold deleted rows ("When a checkpoint vacuums (compacts) row groups, the row IDs of the moved rows change":
/// https://duckdb.org/docs/stable/sql/statements/vacuum). The service never deletes facts, and while it runs no other
/// process can write the file (DuckDB locks it). A start checks that the rows at or below the mark's row id are as many
/// as then and that the order at it is the same one, which catches rows deleted by hand between runs in the common
/// cases, whether or not a checkpoint moved rows after it, but not every rewrite (rows deleted and inserted again can
/// line up by chance): after any DELETE or rewrite of FACT_ORDERS by hand, delete the saved file. The rows above the
/// mark are read and added.</item>
/// <item>The file is written as <c>.order-ids.next</c> and flushed to disk, the mark is committed, and only then does
/// the file replace <c>.order-ids</c>: whenever the process dies, one of the two carries the token the mark names.</item>
/// </list>
/// Changing order ids in place (<c>UPDATE ... SET ORDER_ID</c>) between runs is never seen either: delete the
/// <c>.order-ids</c> file after one.
/// </remarks>
internal sealed partial class SavedOrderIds
{
    /// <summary>
    /// At 30 million orders a save writes 135 MB, and a start read the saved copy and a million ids stored after it in
    /// 1.1 s (three million: 4.2 s; every id: 12.4 s, 9.8 s since they are read in ranges side by side).
    /// </summary>
    public const long DefaultSaveEvery = 1_000_000;

    private readonly string _path;
    private readonly SemaphoreSlim _writeLock;
    private readonly ILogger _logger;
    private long _unsaved;
    private volatile bool _lastSaveFailed;
    private Task _saving = Task.CompletedTask;

    public SavedOrderIds(string databasePath, SemaphoreSlim writeLock, long saveEvery, ILogger logger)
    {
        _path = databasePath + ".order-ids";
        _writeLock = writeLock;
        SaveEvery = saveEvery;
        _logger = logger;
    }

    /// <summary>How many orders may be stored between two saves.</summary>
    public long SaveEvery { get; }

    private string NextPath => _path + ".next";

    /// <summary>
    /// The saved filter with the ids of the rows stored after its mark added, if it still describes the file; null
    /// when there is none, or anything does not match (the caller then reads every stored id). Call under the write lock.
    /// </summary>
    public (StoredOrderIds Ids, long IdsReadAfterIt)? Read(DuckDBConnection connection)
    {
        try
        {
            if (!DuckDbWarehouseProvider.TableExists(connection, "order_id_filter"))
            {
                return null;
            }

            var marks = Rows(connection, "SELECT TOKEN, ORDER_COUNT, MAX_ROW_ID, LAST_ORDER_ID FROM ORDER_ID_FILTER");
            if (marks.Count != 1)
            {
                return null;
            }

            var mark = new Mark((string)marks[0][0]!, Convert.ToInt64(marks[0][1], CultureInfo.InvariantCulture),
                Convert.ToInt64(marks[0][2], CultureInfo.InvariantCulture), (string?)marks[0][3]);
            var below = Convert.ToInt64(Rows(connection, $"SELECT COUNT(*) FROM FACT_ORDERS WHERE rowid <= {mark.MaxRowId}")[0][0], CultureInfo.InvariantCulture);
            var atMark = Rows(connection, $"SELECT ORDER_ID FROM FACT_ORDERS WHERE rowid = {mark.MaxRowId}");
            if (below != mark.Count || (atMark.Count == 0 ? null : (string?)atMark[0][0]) != mark.LastOrderId)
            {
                return null;
            }

            var ids = ReadFile(_path, mark.Token);
            if (ids is null && ReadFile(NextPath, mark.Token) is { } next)
            {
                // The process that saved it died before renaming it: renamed now, so that the next save (which writes
                // .next first) cannot overwrite the only copy that matches the mark.
                File.Move(NextPath, _path, overwrite: true);
                ids = next;
            }

            if (ids is null)
            {
                return null;
            }

            // The rows stored after the mark: DuckDB reads only the row groups past it.
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT ORDER_ID FROM FACT_ORDERS WHERE rowid > {mark.MaxRowId}";
            command.UseStreamingMode = true;
            using var reader = command.ExecuteReader();
            var after = ids.Add(reader);

            Interlocked.Exchange(ref _unsaved, after);
            return (ids, after);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A damaged file or an unexpected table: every id is read from FACT_ORDERS instead.
            LogNotRead(_logger, ex.Message);
            return null;
        }
    }

    /// <summary>Counts ids the caller read from FACT_ORDERS itself as not saved yet.</summary>
    public void NoteRead(long ids) => Interlocked.Exchange(ref _unsaved, ids);

    /// <summary>
    /// After a commit, under the write lock: once <see cref="SaveEvery"/> orders were stored since the last save, marks
    /// what <paramref name="ids"/> holds now and saves it in the background (the batches go on meanwhile).
    /// </summary>
    public void NoteStored(DuckDBConnection connection, string connectionString, StoredOrderIds ids, int stored)
    {
        var unsaved = Interlocked.Add(ref _unsaved, stored);
        if (unsaved < SaveEvery || !_saving.IsCompleted)
        {
            return;
        }

        DuckDBConnection? duplicate = null;
        try
        {
            var mark = Capture(connection);
            // A connection of its own for recording the mark, opened as the writer's was (DuckDB.NET shares the open
            // database between connections of the same connection string; it duplicates only in-memory connections).
            duplicate = new DuckDBConnection(connectionString);
            duplicate.Open();
            Interlocked.Add(ref _unsaved, -unsaved);
            var saving = duplicate;
            _saving = Task.Run(() => SaveAsync(ids, mark, saving, unsaved));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The batch is committed whatever happens here; the save is tried again after the next batch.
            duplicate?.Dispose();
            LogNotSaved(_logger, ex.Message);
        }
    }

    /// <summary>
    /// At a clean stop, under the write lock with no save running (<see cref="IsSaving"/>): saves what is not saved yet,
    /// and folds DuckDB's log into the file.
    /// </summary>
    public void SaveBeforeClosing(DuckDBConnection connection, StoredOrderIds ids)
    {
        if (Interlocked.Read(ref _unsaved) == 0 && !_lastSaveFailed && File.Exists(_path))
        {
            return; // The last save holds every stored id.
        }

        try
        {
            var mark = Capture(connection);
            WriteFile(ids, mark.Token);
            Record(connection, mark);
            File.Move(NextPath, _path, overwrite: true);
            Execute(connection, "CHECKPOINT");
            Interlocked.Exchange(ref _unsaved, 0);
            _lastSaveFailed = false;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The next start reads more ids from FACT_ORDERS instead.
            LogNotSaved(_logger, ex.Message);
        }
    }

    /// <summary>Waits for a save running in the background, if any. It takes the write lock at its end: do not hold it.</summary>
    public Task WaitForSaveAsync() => _saving;

    /// <summary>Whether a save is running in the background.</summary>
    public bool IsSaving => !_saving.IsCompleted;

    /// <summary>Writes the filter and records its mark, on <paramref name="connection"/> (disposed at the end). Never throws.</summary>
    private async Task SaveAsync(StoredOrderIds ids, Mark mark, DuckDBConnection connection, long covering)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            WriteFile(ids, mark.Token);
            await _writeLock.WaitAsync();
            try
            {
                Record(connection, mark);
            }
            finally
            {
                _writeLock.Release();
            }

            File.Move(NextPath, _path, overwrite: true);
            _lastSaveFailed = false;
            LogSaved(_logger, mark.Count, clock.Elapsed.TotalSeconds);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The next start reads more ids from FACT_ORDERS; the next save, or the one at a clean stop, tries again
            // (soon: the orders this one would have covered count as unsaved again).
            _lastSaveFailed = true;
            Interlocked.Add(ref _unsaved, covering);
            LogNotSaved(_logger, ex.Message);
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stored order ids saved beside the warehouse file, covering its first {Orders} orders, in {Seconds:F2} s")]
    private static partial void LogSaved(ILogger logger, long orders, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stored order ids not saved beside the warehouse file (a start after a crash reads more of them from FACT_ORDERS): {Reason}")]
    private static partial void LogNotSaved(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The stored order ids saved beside the warehouse file could not be read; every id is read from FACT_ORDERS: {Reason}")]
    private static partial void LogNotRead(ILogger logger, string reason);

    /// <summary>What FACT_ORDERS holds now, under the write lock with no transaction open (so every id of it was added).</summary>
    private static Mark Capture(DuckDBConnection connection)
    {
        var row = Rows(connection, "SELECT COUNT(*), COALESCE(MAX(rowid), -1) FROM FACT_ORDERS")[0];
        var maxRowId = Convert.ToInt64(row[1], CultureInfo.InvariantCulture);
        var atMark = Rows(connection, $"SELECT ORDER_ID FROM FACT_ORDERS WHERE rowid = {maxRowId}");
        return new Mark(Guid.NewGuid().ToString("N"), Convert.ToInt64(row[0], CultureInfo.InvariantCulture), maxRowId,
            atMark.Count == 0 ? null : (string?)atMark[0][0]);
    }

    private void WriteFile(StoredOrderIds ids, string token)
    {
        using var file = new FileStream(NextPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using (var writer = new BinaryWriter(file, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(token);
        }

        ids.Write(file);
        file.Flush(flushToDisk: true);
    }

    private static StoredOrderIds? ReadFile(string path, string token)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        using var reader = new BinaryReader(file, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            return reader.ReadString() == token ? StoredOrderIds.Read(file) : null;
        }
        catch (EndOfStreamException)
        {
            return null;
        }
    }

    /// <summary>Replaces the mark, in one transaction.</summary>
    private static void Record(DuckDBConnection connection, Mark mark)
    {
        using var transaction = connection.BeginTransaction();
        Execute(connection, "CREATE OR REPLACE TABLE ORDER_ID_FILTER (TOKEN VARCHAR NOT NULL, ORDER_COUNT BIGINT NOT NULL, MAX_ROW_ID BIGINT NOT NULL, LAST_ORDER_ID VARCHAR)");
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO ORDER_ID_FILTER VALUES (?, ?, ?, ?)";
        command.Parameters.Add(new DuckDBParameter(mark.Token));
        command.Parameters.Add(new DuckDBParameter(mark.Count));
        command.Parameters.Add(new DuckDBParameter(mark.MaxRowId));
        command.Parameters.Add(new DuckDBParameter((object?)mark.LastOrderId ?? DBNull.Value));
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    private static List<object?[]> Rows(DuckDBConnection connection, string sql) => DuckDbWarehouseProvider.Read(connection, sql, []);

    private static void Execute(DuckDBConnection connection, string sql) => DuckDbWarehouseProvider.Execute(connection, sql);

    /// <summary>What the saved filter covers: FACT_ORDERS' rows up to <see cref="MaxRowId"/>, <see cref="Count"/> of them, the last holding <see cref="LastOrderId"/>.</summary>
    private sealed record Mark(string Token, long Count, long MaxRowId, string? LastOrderId);
}
