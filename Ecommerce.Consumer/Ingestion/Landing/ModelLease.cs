using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Consumer.Ingestion.Landing;

/// <summary>
/// The modelling lease (MODEL_LEASE): one ingestion process models at a time, so that processes do not read the same
/// landed rows and refuse each other's transactions. Advisory only: two holders at once (clocks that disagree, a
/// holder paused past its lease) cost refused transactions, never a wrong row, because each modelling transaction
/// proves it took every row it read (sql/ingestion/take_landed_rows.sql and the check that counts its marks).
/// </summary>
public sealed class ModelLease(IWarehouseProvider warehouse, TimeProvider time, TimeSpan duration)
{
    private long _renewedAt;
    private volatile bool _held;

    /// <summary>This process's name in MODEL_LEASE: host, process and a random part (a restarted process is another holder).</summary>
    public string Holder { get; } = $"{Truncate(Environment.MachineName, 20)}/{Environment.ProcessId}/{Guid.NewGuid():N}"; // At most 64 characters.

    /// <summary>Whether this process held the lease when it last took or renewed it (no warehouse round trip).</summary>
    public bool IsHeld => _held;

    /// <summary>
    /// Whether this process holds the lease, taking or renewing it when a third of it has passed: two statements
    /// (take, read back) then, none otherwise.
    /// </summary>
    public async Task<bool> HoldAsync(CancellationToken cancellationToken)
    {
        // The modelling loop and the renewal may both get here at once: two takes by one holder are harmless.
        return _held && time.GetElapsedTime(_renewedAt) < duration / 3 || await TakeAsync(cancellationToken);
    }

    /// <summary>
    /// Renews the lease while it is held, every third of its duration, until <paramref name="cancellationToken"/>: a
    /// modelling cycle can outlast the lease (at 1,000 ms per statement one takes 20 to 40 s), and another process
    /// would take it over mid-cycle and do the same cycle again. Failures are left to the next round.
    /// </summary>
    public async Task RenewWhileHeldAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(duration / 3, time, cancellationToken);
                if (_held)
                {
                    await HoldAsync(cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The modelling loop's own calls report a warehouse that fails.
            }
        }
    }

    private async Task<bool> TakeAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        IReadOnlyList<object?[]> rows = [];
        for (var attempt = 0; attempt < 2 && rows.Count == 0; attempt++)
        {
            var now = time.GetUtcNow().UtcDateTime;
            await warehouse.ExecuteTransactionAsync(
                [new SqlStatement(SqlScripts.Get("ingestion/take_model_lease.sql"), Holder, now + duration, Holder, now)], cancellationToken);
            rows = await warehouse.QueryAsync(new SqlStatement(SqlScripts.Get("ingestion/read_model_lease.sql")), cancellationToken);
            if (rows.Count == 0)
            {
                // A new warehouse: the lease's row is made now, and taken at once.
                await warehouse.ExecuteTransactionAsync([new SqlStatement(SqlScripts.Get("ingestion/create_model_lease.sql"))], cancellationToken);
            }
        }

        _held = rows.Count > 0 && rows.All(r => (string?)r[0] == Holder);
        if (_held)
        {
            _renewedAt = started;
        }

        return _held;
    }

    /// <summary>Gives the lease up, so that another process models at once instead of when it expires.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        if (_held)
        {
            _held = false;
            await warehouse.ExecuteTransactionAsync([new SqlStatement(SqlScripts.Get("ingestion/release_model_lease.sql"), Holder)], cancellationToken);
        }
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];
}
