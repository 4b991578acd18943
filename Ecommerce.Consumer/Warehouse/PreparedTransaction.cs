namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// A transaction whose slow preparation is done (on Snowflake: its row sets staged) and which has not run yet, so that
/// a writer can prepare the next one while the current one runs. Run it once, or discard it.
/// </summary>
public sealed class PreparedTransaction(Func<CancellationToken, Task> execute, Action? discard = null)
{
    private int _used;

    /// <summary>Runs the transaction: all of its statements, or none.</summary>
    public Task ExecuteAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _used, 1) != 0)
        {
            throw new InvalidOperationException("A prepared transaction runs at most once.");
        }

        return execute(cancellationToken);
    }

    /// <summary>Gives up a transaction that will never run (its staged rows are let go); nothing if it ran.</summary>
    public void Discard()
    {
        if (Interlocked.Exchange(ref _used, 1) == 0)
        {
            discard?.Invoke();
        }
    }
}
