using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Tests.Warehouse.Differential;

/// <summary>
/// A real warehouse provider with two hooks for schedules a test wants to force: run something just before the next
/// batch transaction or append (another writer's whole batch, between this writer's reads and its write), and fail the
/// next one either before it runs or after it committed (an outcome the writer never learns).
/// </summary>
public sealed class InterceptingWarehouse(IWarehouseProvider inner) : IWarehouseProvider
{
    public enum Fault
    {
        None,
        BeforeCommit,
        AfterCommit,
    }

    /// <summary>Runs once, before the next transaction.</summary>
    public Func<Task>? BeforeNextTransaction { get; set; }

    public Fault NextTransactionFault { get; set; }

    /// <summary>How many transactions run untouched before the hook and the fault apply (0: the next one).</summary>
    public int TransactionsBeforeHook { get; set; }

    /// <summary>
    /// Awaited before the next transaction, once, ahead of the hook and whatever <see cref="TransactionsBeforeHook"/>
    /// says: holds it, e.g. until a batch planned on top of it is prepared.
    /// </summary>
    public Func<Task>? HoldNextTransaction { get; set; }

    /// <summary>How many transactions were prepared to run later (a batch staged beside a running one).</summary>
    public int PreparedTransactions => Volatile.Read(ref _prepared);

    /// <summary>How many transactions and appends were run (or failed by a fault), prepared ones included.</summary>
    public int Writes => Volatile.Read(ref _writes);

    private int _prepared;
    private int _writes;

    /// <summary>Waits until <paramref name="count"/> transactions have been prepared, or <paramref name="patience"/> has passed.</summary>
    public async Task WaitForPreparedAsync(int count, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (PreparedTransactions < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
    }

    public string SystemName => inner.SystemName;

    public bool TransactionsSeeEveryCommit => inner.TransactionsSeeEveryCommit;

    /// <summary>
    /// True on both warehouses, so that the suites run batches planned on top of a running one on DuckDB too (whose
    /// service does not pipeline: there it would gain nothing), against its exact reads.
    /// </summary>
    public bool PreparesBesideTransactions => true;

    /// <summary>The real provider's: a batch of another writer run by a hook commits through it, and is counted.</summary>
    public long? CommitSequence => inner.CommitSequence;

    public Task ExecuteScriptAsync(string script, CancellationToken cancellationToken) => inner.ExecuteScriptAsync(script, cancellationToken);

    public Task<IReadOnlyList<object?[]>> QueryAsync(SqlStatement statement, CancellationToken cancellationToken) => inner.QueryAsync(statement, cancellationToken);

    /// <summary>An append (a landing) is a write as a transaction is: the hooks and faults apply to it alike.</summary>
    public Task AppendAsync(SqlStatement statement, CancellationToken cancellationToken) =>
        WriteAsync(() => inner.AppendAsync(statement, cancellationToken));

    public Task ExecuteTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken) =>
        WriteAsync(() => inner.ExecuteTransactionAsync(statements, cancellationToken));

    /// <summary>The real provider's span, so that a writer keeps its cache through it; lost with a fault after the commit, as the writer would lose it.</summary>
    public async Task<CommitSequenceSpan?> ExecuteCountedTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken)
    {
        CommitSequenceSpan? span = null;
        await WriteAsync(async () => span = await inner.ExecuteCountedTransactionAsync(statements, cancellationToken));
        return span;
    }

    /// <summary>Prepared now; the hooks and faults apply when it runs, as to a transaction run at once.</summary>
    public async Task<PreparedTransaction> PrepareTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken)
    {
        var prepared = await inner.PrepareTransactionAsync(statements, cancellationToken);
        Interlocked.Increment(ref _prepared);
        return new PreparedTransaction(token => WriteAsync(() => prepared.ExecuteAsync(token)), prepared.Discard);
    }

    private async Task WriteAsync(Func<Task> write)
    {
        Interlocked.Increment(ref _writes);
        if (HoldNextTransaction is { } hold)
        {
            HoldNextTransaction = null;
            await hold();
        }

        if (TransactionsBeforeHook > 0)
        {
            TransactionsBeforeHook--;
            await write();
            return;
        }

        if (BeforeNextTransaction is { } before)
        {
            BeforeNextTransaction = null;
            await before();
        }

        var fault = NextTransactionFault;
        NextTransactionFault = Fault.None;
        if (fault == Fault.BeforeCommit)
        {
            throw new IOException("Injected: the connection dropped before the transaction ran.");
        }

        await write();
        if (fault == Fault.AfterCommit)
        {
            throw new IOException("Injected: the connection dropped after the transaction committed.");
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask; // The test bed owns the provider.
}
