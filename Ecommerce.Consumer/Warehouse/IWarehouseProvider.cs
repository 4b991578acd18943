namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// What the ingestion service needs from a warehouse: run the schema script, read, and apply a list of
/// statements as one transaction. Everything else (the star-schema logic) is shared by all warehouses.
/// </summary>
public interface IWarehouseProvider : IAsyncDisposable
{
    /// <summary>The OpenTelemetry <c>db.system.name</c> of this warehouse, e.g. <c>duckdb</c>.</summary>
    string SystemName { get; }

    /// <summary>
    /// Whether a transaction's plain reads see every commit made before them. False (the safe answer) where a session
    /// may miss another session's commit made after it started, as Snowflake's default read consistency allows: a
    /// batch transaction then proves it is current on rows its own statements marked. True on a warehouse whose one
    /// writing process runs its transactions in turn, where a read is the cheaper proof.
    /// </summary>
    bool TransactionsSeeEveryCommit => false;

    /// <summary>
    /// Where the provider itself runs every transaction that commits to the warehouse (one writing process): a number
    /// that changes whenever one may have committed, so that a batch can tell that nothing did since it read (see
    /// <see cref="SqlStatement.WhenNothingCommitted"/>). Null (the safe answer) elsewhere.
    /// </summary>
    long? CommitSequence => null;

    /// <summary>
    /// Whether a batch can be read, planned and staged while another transaction of this process runs, side by side
    /// with it (Snowflake: each request is a session of its own, and the warehouse runs sessions in parallel). False
    /// where the provider runs them in turn (DuckDB's one writing process): planning a batch on top of a running one
    /// there would gain no time and cost it the shortcuts of a warehouse unchanged since its reads.
    /// </summary>
    bool PreparesBesideTransactions => false;

    /// <summary>
    /// Loads what the first write will need and the provider keeps in memory (DuckDB: the ids of the stored orders), so
    /// that a start can do it while the Kafka client joins its group instead of before the first batch. Nothing to do
    /// elsewhere. A failure here only means the first write loads it instead.
    /// </summary>
    Task WarmUpAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs a script of several <c>;</c>-separated statements (the schema).</summary>
    Task ExecuteScriptAsync(string script, CancellationToken cancellationToken);

    /// <summary>
    /// Runs a query and returns its rows with values as .NET types, the same on every warehouse: string, long (any
    /// whole number), decimal, double, bool, DateOnly, DateTime (UTC), or null.
    /// </summary>
    Task<IReadOnlyList<object?[]>> QueryAsync(SqlStatement statement, CancellationToken cancellationToken);

    /// <summary>
    /// Runs one statement that appends the rows of its row set (<c>INSERT ... SELECT ... FROM {rows}</c>) outside any
    /// transaction of several statements. A row set too large for one statement may be appended in slices, each
    /// committed by itself, in any order: after a failure, any of them may be stored.
    /// </summary>
    Task AppendAsync(SqlStatement statement, CancellationToken cancellationToken);

    /// <summary>Applies the statements in order as one transaction: all of them, or none.</summary>
    Task ExecuteTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="ExecuteTransactionAsync"/>, and where the provider keeps a <see cref="CommitSequence"/>, returns its
    /// values just before and just after the transaction once it committed, so that a writer keeping state of its own
    /// in step with the warehouse knows whether anything else committed before it. Null (the safe answer) elsewhere.
    /// </summary>
    async Task<CommitSequenceSpan?> ExecuteCountedTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken)
    {
        await ExecuteTransactionAsync(statements, cancellationToken);
        return null;
    }

    /// <summary>
    /// Does what <see cref="ExecuteTransactionAsync"/> would do before the transaction itself (Snowflake stages the row
    /// sets), and returns the transaction to run later. Where there is nothing to prepare, the transaction is run whole
    /// when it is executed.
    /// </summary>
    Task<PreparedTransaction> PrepareTransactionAsync(IReadOnlyList<SqlStatement> statements, CancellationToken cancellationToken) =>
        Task.FromResult(new PreparedTransaction(token => ExecuteTransactionAsync(statements, token)));
}
