using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Ecommerce.Consumer.Orders;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// Writes batches of orders into the star schema of any warehouse, with the SQL in <c>sql/ingestion</c>. Reads
/// happen first; then every change of the batch (facts, the three dimensions and the partition offsets) is
/// applied in one transaction, so a batch is in the warehouse completely or not at all.
/// </summary>
public sealed class StarSchemaWriter(IWarehouseProvider warehouse, TimeProvider time)
{
    /// <summary>
    /// Calendar days known to be in DIM_DATE (committed by this process): a batch of known days leaves the date
    /// dimension alone, one statement less. Rows of DIM_DATE are never changed or deleted.
    /// </summary>
    private readonly ConcurrentDictionary<DateOnly, bool> _storedDates = new();

    /// <summary>The versions of recent customers, where the warehouse counts its commits (see <see cref="CustomerVersionCache"/>).</summary>
    private readonly CustomerVersionCache _versions = new();

    private static readonly Column[] ProductColumns =
    [
        new("PRODUCT_ID", ColumnType.Text), new("PRODUCT_NAME", ColumnType.Text), new("CATEGORY", ColumnType.Text),
        new("LAST_SEEN_AT", ColumnType.Timestamp), new("LAST_ORDER_ID", ColumnType.Text),
    ];

    private static readonly Column[] DateColumns =
    [
        new("ORDER_DATE", ColumnType.Date), new("DAY", ColumnType.Integer), new("MONTH", ColumnType.Integer),
        new("YEAR", ColumnType.Integer), new("QUARTER", ColumnType.Integer), new("WEEKDAY", ColumnType.Integer),
        new("DAY_NAME", ColumnType.Text), new("MONTH_NAME", ColumnType.Text), new("IS_WEEKEND", ColumnType.Boolean),
    ];

    private static readonly Column[] VersionColumns =
    [
        new("CUSTOMER_SK", ColumnType.BigInt), new("CUSTOMER_ID", ColumnType.Text), new("CUSTOMER_NAME", ColumnType.Text),
        new("CUSTOMER_REGION", ColumnType.Text), new("VALID_FROM", ColumnType.Timestamp), new("VALID_TO", ColumnType.Timestamp),
        new("IS_CURRENT", ColumnType.Boolean), new("LAST_SEEN_AT", ColumnType.Timestamp), new("ORDER_COUNT", ColumnType.BigInt),
    ];

    private static readonly Column[] OffsetColumns =
    [
        new("TOPIC", ColumnType.Text), new("PARTITION_ID", ColumnType.Integer), new("NEXT_OFFSET", ColumnType.BigInt),
        new("LAST_RECORD_DIGEST", ColumnType.Text), new("UPDATED_AT", ColumnType.Timestamp), new("FIRST_OFFSET", ColumnType.BigInt),
    ];

    public string SystemName => warehouse.SystemName;

    /// <summary>Creates the tables that are missing. Never drops or replaces anything.</summary>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        foreach (var script in SqlScripts.Schema())
        {
            await warehouse.ExecuteScriptAsync(script, cancellationToken);
        }
    }

    /// <summary>Loads what the warehouse keeps in memory for writing (<see cref="IWarehouseProvider.WarmUpAsync"/>).</summary>
    public Task WarmUpAsync(CancellationToken cancellationToken) => warehouse.WarmUpAsync(cancellationToken);

    public async Task<IReadOnlyList<StoredOffset>> ReadOffsetsAsync(string topic, CancellationToken cancellationToken)
    {
        var rows = await warehouse.QueryAsync(new SqlStatement(SqlScripts.Get("ingestion/read_offsets.sql"), topic, topic), cancellationToken);
        return rows.Select(row => new StoredOffset(Convert.ToInt32(row[0], CultureInfo.InvariantCulture),
            Convert.ToInt64(row[1], CultureInfo.InvariantCulture), (string)row[2]!)).ToArray();
    }

    /// <summary>Forgets a partition's resume points, the batch transactions' and the landings' (one statement each).</summary>
    public async Task ResetOffsetAsync(string topic, int partition, CancellationToken cancellationToken)
    {
        await warehouse.ExecuteTransactionAsync([new SqlStatement(SqlScripts.Get("ingestion/reset_offset.sql"), topic, partition)], cancellationToken);
        await warehouse.ExecuteTransactionAsync([new SqlStatement(SqlScripts.Get("ingestion/reset_landed_progress.sql"), topic, partition)], cancellationToken);
    }

    /// <summary>Tells new orders from redeliveries (same id and content) and conflicts (same id, other content).</summary>
    public Task<BatchClassification> ClassifyAsync(IReadOnlyList<IncomingOrder> orders, CancellationToken cancellationToken) =>
        ClassifyAsync(orders, [], null, cancellationToken);

    /// <summary>
    /// As <see cref="ClassifyAsync(IReadOnlyList{IncomingOrder}, CancellationToken)"/>, with <paramref name="alsoStored"/>
    /// counted as stored; with <paramref name="storedDigests"/> (the stored copies of the orders, read already), without a
    /// read.
    /// </summary>
    private async Task<BatchClassification> ClassifyAsync(
        IReadOnlyList<IncomingOrder> orders, IReadOnlyList<IncomingOrder> alsoStored, IReadOnlyDictionary<string, string>? storedDigests,
        CancellationToken cancellationToken)
    {
        using var cpu = CpuByStage.Start(IngestionStage.Classify);
        // Sized for every order at once: grown step by step, its discarded tables were about 2 % of the bytes allocated per order.
        var known = new Dictionary<string, string>(orders.Count + alsoStored.Count + (storedDigests?.Count ?? 0), StringComparer.Ordinal);
        if (storedDigests is not null)
        {
            foreach (var (id, digest) in storedDigests)
            {
                known[id] = digest;
            }
        }

        if (orders.Count > 0 && storedDigests is null)
        {
            var keys = new RowSet("keys", [new("ORDER_ID", ColumnType.Text)], DistinctTextRows(orders, o => o.Order.OrderId))
            {
                OrderIdsToLookUp = true,
            };
            var reading = warehouse.QueryAsync(
                SqlStatement.WithSources(SqlScripts.Get("ingestion/read_existing_orders.sql"), keys), cancellationToken);
            cpu.SuspendUnless(reading.IsCompleted);
            var rows = await reading;
            cpu.Resume();
            foreach (var row in rows)
            {
                known[(string)row[0]!] = (string)row[1]!;
            }
        }

        foreach (var stored in alsoStored)
        {
            known.TryAdd(stored.Order.OrderId, stored.ContentDigest);
        }

        List<IncomingOrder> fresh = new(orders.Count), duplicates = [], conflicts = [];
        foreach (var order in orders)
        {
            if (known.TryGetValue(order.Order.OrderId, out var digest))
            {
                (digest == order.ContentDigest ? duplicates : conflicts).Add(order);
            }
            else
            {
                known[order.Order.OrderId] = order.ContentDigest; // Within the batch, the first delivery wins too.
                fresh.Add(order);
            }
        }

        return new BatchClassification(fresh, duplicates, conflicts);
    }

    /// <summary>
    /// Reads what the batch needs from the warehouse: which orders are stored already (as <see cref="ClassifyAsync(IReadOnlyList{IncomingOrder}, CancellationToken)"/>)
    /// and the histories of its customers, the two reads at once, then the stored orders of the versions its new
    /// orders fall into; and rebuilds those customers' histories.
    /// </summary>
    public Task<BatchPlan> PlanAsync(IReadOnlyList<IncomingOrder> orders, CancellationToken cancellationToken) =>
        PlanOnTopAsync(orders, null, null, cancellationToken);

    /// <summary>
    /// Plans a batch as <see cref="PlanAsync"/> does, as it will be once <paramref name="running"/> (a batch whose
    /// transaction may still be running) has committed: its new orders count as stored, and its customers' histories
    /// are the ones it writes (see <see cref="PlanLandedAsync"/>). If it does not commit with that plan, this one is stale:
    /// run it only after it did.
    /// </summary>
    public Task<BatchPlan> PlanAfterAsync(IReadOnlyList<IncomingOrder> orders, BatchPlan running, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(running);
        return PlanOnTopAsync(orders, running, null, cancellationToken);
    }

    /// <summary>
    /// Plans landed orders as <see cref="PlanAsync"/> does, with the stored copies of their orders as the landed read
    /// found them (<paramref name="storedDigests"/>: order id to content digest), so that only the customers' histories
    /// are read here.
    /// <para>
    /// With <paramref name="running"/> (a cycle whose transaction may still be running), the orders are planned as they
    /// will be once it has committed: its new orders count as stored, and its customers' histories are the ones it
    /// writes (the orders of such a version that a late order falls into are read by time and joined with its new
    /// ones). If it does not commit as planned, this plan is stale, and its transaction refused.
    /// </para>
    /// </summary>
    public Task<BatchPlan> PlanLandedAsync(
        IReadOnlyList<IncomingOrder> orders, IReadOnlyDictionary<string, string> storedDigests, BatchPlan? running, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(storedDigests);
        return PlanOnTopAsync(orders, running, storedDigests, cancellationToken);
    }

    /// <summary>Plans the orders on top of what the warehouse holds and, if given, what <paramref name="before"/> writes.</summary>
    private async Task<BatchPlan> PlanOnTopAsync(
        IReadOnlyList<IncomingOrder> orders, BatchPlan? before, IReadOnlyDictionary<string, string>? storedDigests, CancellationToken cancellationToken)
    {
        if (orders.Count == 0)
        {
            return new BatchPlan(new BatchClassification([], [], []), []);
        }

        // Taken before any read; a plan built on top of a running transaction, or on a landed read made before this call,
        // has no shortcut to offer.
        var commitSequenceBeforeReads = before is null && storedDigests is null ? warehouse.CommitSequence : null;
        var customerIds = DistinctTexts(orders, o => o.Order.CustomerId);
        var classifying = ClassifyAsync(orders, before?.Classification.New ?? [], storedDigests, cancellationToken);
        Task<IReadOnlyList<CustomerVersion>> reading;
        using (CpuByStage.Start(IngestionStage.History))
        {
            // Run to its end here where the warehouse answers at once (DuckDB), and timed as such.
            reading = commitSequenceBeforeReads is { } sequence
                ? TakeCustomerVersionsAsync(sequence, customerIds, cancellationToken)
                : ReadCustomerVersionsAsync(customerIds, cancellationToken);
        }

        await Task.WhenAll(classifying, reading);
        IReadOnlyList<CustomerVersion> versions = await reading;
        if (before is not null)
        {
            // The running transaction's customers as it writes them, whatever the read found.
            var written = before.Histories;
            versions = versions.Where(v => !written.ContainsKey(v.CustomerId))
                .Concat(customerIds.SelectMany(id => written.TryGetValue(id, out var history) ? history.Change.Versions : []))
                .ToArray();
        }

        var classification = await classifying;
        return new BatchPlan(classification, await RebuildHistoriesAsync(classification.New, versions, before, cancellationToken), commitSequenceBeforeReads);
    }

    /// <summary>Writes orders already known to be new, as <see cref="WriteAsync(BatchPlan, IReadOnlyList{PartitionProgress}, CancellationToken)"/> does.</summary>
    public async Task<BatchWriteResult> WriteAsync(
        IReadOnlyList<IncomingOrder> newOrders, IReadOnlyList<PartitionProgress> progress, CancellationToken cancellationToken)
    {
        var histories = newOrders.Count == 0 ? [] : await RebuildHistoriesAsync(newOrders, null, null, cancellationToken);
        return await WriteAsync(new BatchPlan(new BatchClassification(newOrders, [], []), histories), progress, cancellationToken);
    }

    /// <summary>
    /// Writes the plan's new orders, their dimensions and the partitions' progress in one transaction. Throws
    /// <see cref="StaleBatchException"/> (and writes nothing) when a partition's stored progress is already past
    /// the batch's <see cref="PartitionProgress.FirstOffset"/>, and <see cref="StaleReadException"/> when another
    /// writer stored one of the orders or changed one of the customers' histories since they were read.
    /// </summary>
    public Task<BatchWriteResult> WriteAsync(BatchPlan plan, IReadOnlyList<PartitionProgress> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var transaction = BuildTransaction(plan, progress, []);
        return WriteTracedAsync(transaction, () => RunAsync(transaction, null, cancellationToken));
    }

    private async Task<BatchWriteResult> WriteTracedAsync(BatchTransaction transaction, Func<Task<BatchWriteResult>> run)
    {
        var plan = transaction.Plan;
        var claims = transaction.Claims;
        // Named for its main statement: facts are only ever added, never changed (on Snowflake by the MERGE that also marks
        // any stored copy; nothing is inserted where one is found, and the batch is refused).
        using var span = WarehouseTracing.Source.StartActivity("INSERT FACT_ORDERS", ActivityKind.Client);
        span?.SetTag("db.system.name", SystemName);
        // The attribute's name before the conventions renamed it, which the Aspire dashboard reads to title a span
        // "DATA duckdb INSERT FACT_ORDERS".
        span?.SetTag("db.system", SystemName);
        span?.SetTag("db.operation.name", "INSERT");
        span?.SetTag("db.collection.name", "FACT_ORDERS");
        span?.SetTag("db.operation.batch.size", plan.Classification.New.Count);
        if (claims.Count > 0)
        {
            span?.SetTag("ecommerce.rows.landed", claims.Count);
        }

        try
        {
            var result = await run();
            span?.SetTag("ecommerce.rows.orders", result.OrdersInserted);
            span?.SetTag("ecommerce.rows.customer_versions", result.CustomerVersionsWritten);
            span?.SetTag("ecommerce.rows.products", result.ProductsWritten);
            span?.SetTag("ecommerce.rows.dates", result.DatesWritten);
            return result;
        }
        catch (Exception ex)
        {
            span?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }

    /// <summary>
    /// Prepares the modelling of landed orders (Ingestion:WritePath = Landed), to run later: as
    /// <see cref="WriteAsync(BatchPlan, IReadOnlyList{PartitionProgress}, CancellationToken)"/>, with no partition
    /// progress (the landings recorded it); the transaction first records what it made of the landed rows in
    /// <paramref name="claims"/> and marks any outcome another one recorded for them (sql/ingestion/take_landed_rows.sql),
    /// marks counted by check_batch_is_current.sql or, without new orders, check_landed_claims.sql. Running it throws <see cref="StaleReadException"/> (and writes
    /// nothing) when another transaction took one of them, or changed what the plan read, meanwhile. Prepared apart (on
    /// Snowflake, its row sets are staged now) so that a modeller can prepare its next cycle while this one runs.
    /// </summary>
    public async Task<PreparedWrite> PrepareModelAsync(BatchPlan plan, IReadOnlyList<LandedClaim> claims, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(claims);
        return await PrepareAsync(BuildTransaction(plan, [], claims), cancellationToken);
    }

    /// <summary>
    /// Prepares the write of a batch, to run later, as <see cref="WriteAsync(BatchPlan, IReadOnlyList{PartitionProgress}, CancellationToken)"/>
    /// would run it (on Snowflake its row sets are staged now): so that a batch planned on top of a running one
    /// (<see cref="PlanAfterAsync"/>) is ready when that one commits.
    /// </summary>
    public async Task<PreparedWrite> PrepareWriteAsync(BatchPlan plan, IReadOnlyList<PartitionProgress> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(progress);
        return await PrepareAsync(BuildTransaction(plan, progress, []), cancellationToken);
    }

    /// <summary>Whether a batch can be planned and staged while another one's transaction runs (see <see cref="IWarehouseProvider.PreparesBesideTransactions"/>).</summary>
    public bool PreparesBesideTransactions => warehouse.PreparesBesideTransactions;

    private async Task<PreparedWrite> PrepareAsync(BatchTransaction transaction, CancellationToken cancellationToken)
    {
        var prepared = transaction.Statements.Count == 0 ? null : await warehouse.PrepareTransactionAsync(transaction.Statements, cancellationToken);
        return new PreparedWrite(
            token => WriteTracedAsync(transaction, () => RunAsync(transaction, prepared, token)),
            () => prepared?.Discard());
    }

    /// <summary>The statements of one batch or modelling transaction, with what they need to report and diagnose it.</summary>
    /// <param name="ClaimRanges">A modelling transaction's claims as ranges, for read_taken_claims.sql after a failure.</param>
    private sealed record BatchTransaction(
        BatchPlan Plan, IReadOnlyList<PartitionProgress> Progress, IReadOnlyList<LandedClaim> Claims,
        List<SqlStatement> Statements, BatchWriteResult Result, DateOnly[] NewDates, IReadOnlyList<LandedClaimRange> ClaimRanges);

    /// <summary>
    /// A cycle's claims go as ranges: a run of landed rows of one landing and partition at consecutive offsets with one
    /// outcome is one row (<see cref="LandedClaim.Ranges"/>), naming its landing by number ({landings} holds the ids). A
    /// cycle of 192,000 landed orders staged about 110 bytes a claim on Snowflake, 21 statements of 1 MB taking 5 of the 15
    /// seconds its preparation took at 1 s per statement (2026-12-05); as ranges it stages a row per landing and partition,
    /// give or take the runs a duplicate, a conflict or an invalid event breaks. A new order's fact finds its customer
    /// version by its time among the versions the cycle writes (see <see cref="VerifyVersionsByTime"/>).
    /// </summary>
    private static readonly Column[] ClaimColumns =
    [
        new("LANDING_NO", ColumnType.Integer), new("SOURCE_TOPIC", ColumnType.Text), new("SOURCE_PARTITION", ColumnType.Integer),
        new("FIRST_OFFSET", ColumnType.BigInt), new("LAST_OFFSET", ColumnType.BigInt), new("OUTCOME", ColumnType.Text),
    ];

    private static readonly Column[] LandingColumns = [new("LANDING_NO", ColumnType.Integer), new("LANDING_ID", ColumnType.Text)];

    private BatchTransaction BuildTransaction(BatchPlan plan, IReadOnlyList<PartitionProgress> progress, IReadOnlyList<LandedClaim> claims)
    {
        using var cpu = CpuByStage.Start(IngestionStage.Write);
        var now = time.GetUtcNow().UtcDateTime;
        var newOrders = plan.Classification.New;
        var histories = plan.Histories;
        var statements = new List<SqlStatement>();
        var result = new BatchWriteResult(0, 0, 0, 0);
        DateOnly[] newDates = [];

        // The rows the transaction claims or finds are marked with its id (the BATCH_ID columns), so that the check reads
        // back marks of its own: see sql/ingestion/check_batch_is_current.sql.
        // Its time is the modelling time of a cycle's outcomes and the INGESTED_AT of the facts it makes from landed rows.
        var batch = new RowSet("batch", [new("ID", ColumnType.Text), new("WRITTEN_AT", ColumnType.Timestamp)], [[Guid.NewGuid().ToString("N"), now]]);
        var offsets = new RowSet("offsets", OffsetColumns,
            progress.Select(p => new object?[] { p.Topic, p.Partition, p.NextOffset, p.LastRecordDigest, now, p.FirstOffset }).ToArray());
        var fenced = progress.Any(p => p.FirstOffset is not null);
        // Where nothing committed since the plan read (below), the partitions' claim is all the check has left to prove, and
        // a provider that counts the rows a statement changed (DuckDB) takes it from the merge: it changes the row of every
        // partition it claims and of no other, so a batch that starts in each of its partitions (FIRST_OFFSET) claimed them
        // all if it changed as many rows. On another count, check_partitions_claimed.sql runs and decides.
        var claimCounted = plan.CommitSequenceBeforeReads is { } unchangedSince && claims.Count == 0 && progress.Count > 0
            && progress.All(p => p.FirstOffset is not null)
            ? unchangedSince
            : (long?)null;
        var partitionsClaimed = SqlStatement.WithSources(SqlScripts.Get("ingestion/check_partitions_claimed.sql"), offsets, batch);
        if (progress.Count > 0)
        {
            // First: claims the partitions (or finds them stored further) and advances them.
            var merge = SqlStatement.WithSources(SqlScripts.Get("ingestion/merge_offsets.sql"), offsets, batch);
            statements.Add(claimCounted is { } since
                ? merge with { WhenNothingCommitted = new CommitShortcut(since, merge with { CheckUnlessChanged = new ChangeCountCheck(progress.Count, partitionsClaimed) }) }
                : merge);
        }

        // Each customer's orders as read: another writer that stores one of theirs meanwhile changes the total.
        var customers = new RowSet("customers", [new("CUSTOMER_ID", ColumnType.Text), new("READ_ORDER_COUNT", ColumnType.BigInt)],
            new DeferredRows(() => histories.Select(h => new object?[] { h.Key, h.Value.Stored.Sum(v => v.OrderCount) }).ToArray()));
        // The versions the batch creates or reshapes; every new order adds to one of them (its ORDER_COUNT), so a new
        // landed order's fact finds its version among them by its time, as repoint_facts.sql does.
        var changes = histories.Values.Select(h => h.Change).ToArray();
        var versionRows = changes.SelectMany(c => c.Changed).Select(VersionRow).ToArray();
        var versions = new RowSet("versions", VersionColumns, versionRows);
        if (claims.Count > 0)
        {
            VerifyVersionsByTime(newOrders, histories);
        }

        var landingNumbers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var claim in claims)
        {
            landingNumbers.TryAdd(claim.LandingId, landingNumbers.Count);
        }

        var landings = new RowSet("landings", LandingColumns, landingNumbers.Select(l => new object?[] { l.Value, l.Key }).ToArray());
        var ranges = LandedClaim.Ranges(claims);
        var claimed = new RowSet("claims", ClaimColumns, ranges
            .Select(r => new object?[] { landingNumbers[r.LandingId], r.Topic, r.Partition, r.FirstOffset, r.LastOffset, r.Outcome })
            .ToArray());
        var checksCurrency = fenced || newOrders.Count > 0;
        // Where a plain read may miss another writer's commit (Snowflake), the orders and customers the check needs are
        // first marked by statements that change them, which work on their latest committed version; elsewhere a
        // read is exact and cheaper (two statements less, no rows rewritten).
        var marks = checksCurrency && !warehouse.TransactionsSeeEveryCommit;
        IReadOnlyList<object?[]> orderRows = claims.Count > 0 ? [] : new FactOrderRows(
            newOrders,
            newOrders.Select(o => histories[o.Order.CustomerId].Change.NewOrderVersions[o.Order.OrderId]).ToArray(),
            now);
        var storesOrderIds = newOrders.Select(o => o.Order.OrderId).ToArray();
        if (claims.Count > 0)
        {
            // First: records what the cycle made of the landed rows it read, and marks any outcome another modelling
            // transaction recorded for one of them meanwhile. The currency check below counts those marks too; without
            // it, a check of their own.
            statements.Add(SqlStatement.WithSources(SqlScripts.Get("ingestion/take_landed_rows.sql"), claimed, landings, batch));
            if (!checksCurrency)
            {
                statements.Add(SqlStatement.WithSources(SqlScripts.Get("ingestion/check_landed_claims.sql"), batch));
            }
        }

        if (checksCurrency)
        {
            if (marks && newOrders.Count > 0)
            {
                // The facts go in by the statement that marks any stored copy of them (one statement, not a mark and an
                // append); the check below refuses the batch if it marked one. A modelling transaction's new orders are
                // named by its claims and made from the landed rows.
                statements.Add((claims.Count > 0
                    ? SqlStatement.WithSources(SqlScripts.Get("ingestion/merge_fact_orders_from_landing.sql"), claimed, landings, versions, batch)
                    : SqlStatement.WithSources(SqlScripts.Get("ingestion/merge_fact_orders.sql"), new RowSet("orders", FactOrderRows.Columns, orderRows), batch)) with
                {
                    StoresOrderIds = storesOrderIds,
                });
            }

            if (marks && customers.Rows.Count > 0)
            {
                statements.Add(SqlStatement.WithSources(SqlScripts.Get("ingestion/mark_customer_versions.sql"), customers, batch));
            }

            statements.Add(marks
                ? SqlStatement.WithSources(SqlScripts.Get("ingestion/check_batch_is_current.sql"), offsets, customers, landings, batch)
                : SqlStatement.WithSources(SqlScripts.Get("ingestion/check_batch_is_current_by_reading.sql"), offsets, NewOrderIds(newOrders), customers, landings, batch) with
                {
                    // Nothing committed since the plan read (the usual case for the one writer of a DuckDB file): its reads
                    // (and the versions it took from CustomerVersionCache, exact at the same count) still hold, and only
                    // the partitions' claim is left to prove (saves reading the batch's customers and staging them, about
                    // a third of a DuckDB batch's statement time), or nothing, where the merge's count proved it (above).
                    // Not for a modelling cycle: its landed rows were read before the plan. (A batch without a
                    // FIRST_OFFSET claims nothing, and the shortcut then passes as the check's partitions' part would.)
                    WhenNothingCommitted = claimCounted is { } counted
                        ? new CommitShortcut(counted, null)
                        : plan.CommitSequenceBeforeReads is { } since && claims.Count == 0
                        ? new CommitShortcut(since, partitionsClaimed)
                        : null,
                });
        }

        if (newOrders.Count > 0)
        {
            // The latest order names the product; at one instant the smallest order id does (as in merge_dim_product.sql).
            var productRows = newOrders
                .GroupBy(o => o.Order.ProductId, StringComparer.Ordinal)
                .Select(g => g.Select(o => o.Order).OrderByDescending(o => o.OrderTimestamp).ThenBy(o => o.OrderId, StringComparer.Ordinal).First())
                .Select(o => new object?[] { o.ProductId, o.ProductName, o.Category, o.OrderTimestamp, o.OrderId })
                .ToArray();
            newDates = newOrders
                .Select(o => DateOnly.FromDateTime(o.Order.OrderTimestamp))
                .Distinct()
                .Where(date => !_storedDates.ContainsKey(date))
                .ToArray();
            var retiredRows = changes.SelectMany(c => c.Retired).Select(sk => new object?[] { sk }).ToArray();
            var historyRows = changes.Where(c => c.StoredOrdersMove).SelectMany(c => c.Versions).Select(VersionRow).ToArray();

            // Landed orders are in the warehouse already: their facts are made from the landed rows (no second upload).
            if (!marks)
            {
                statements.Add((claims.Count > 0
                    ? SqlStatement.WithSources(SqlScripts.Get("ingestion/insert_fact_orders_from_landing.sql"), claimed, landings, versions, batch)
                    : SqlStatement.WithSources(SqlScripts.Get("ingestion/insert_fact_orders.sql"), new RowSet("orders", FactOrderRows.Columns, orderRows)) with
                    {
                        AppendsTo = "FACT_ORDERS",
                    }) with
                {
                    StoresOrderIds = storesOrderIds,
                });
            }

            statements.Add(SqlStatement.WithSources(SqlScripts.Get("ingestion/merge_dim_product.sql"), new RowSet("products", ProductColumns, productRows)));
            if (newDates.Length > 0)
            {
                statements.Add(SqlStatement.WithSources(SqlScripts.Get("ingestion/merge_dim_date.sql"),
                    new RowSet("dates", DateColumns, newDates.Select(DateRow).ToArray())));
            }

            if (retiredRows.Length > 0)
            {
                statements.Add(SqlStatement.WithSources(SqlScripts.Get("ingestion/retire_customer_versions.sql"),
                    new RowSet("retired", [new("CUSTOMER_SK", ColumnType.BigInt)], retiredRows)));
            }

            statements.Add(SqlStatement.WithSources(SqlScripts.Get("ingestion/merge_dim_customer.sql"), versions));
            if (historyRows.Length > 0)
            {
                statements.Add(SqlStatement.WithSources(SqlScripts.Get("ingestion/repoint_facts.sql"), new RowSet("history", VersionColumns, historyRows)));
            }

            result = new BatchWriteResult(newOrders.Count, versionRows.Length, productRows.Length, newDates.Length);
        }

        return new BatchTransaction(plan, progress, claims, statements, result, newDates, ranges);
    }

    /// <summary>
    /// A modelling transaction's facts take their customer version by time (the version of the order's customer valid
    /// at its timestamp among those the batch writes) instead of from a staged row per order: this proves, before
    /// anything is staged, that the rule gives every new order the version its history rebuild chose. It holds by
    /// construction (a version is valid from its first order until the next one's first; all orders at one instant share
    /// a version; a new order changes its version's ORDER_COUNT, so that version is among the changed ones); a history
    /// that broke it would otherwise point facts at the wrong version, or drop them, without a word.
    /// </summary>
    internal static void VerifyVersionsByTime(
        IReadOnlyList<IncomingOrder> newOrders, Dictionary<string, (IReadOnlyList<CustomerVersion> Stored, CustomerHistoryChange Change)> histories)
    {
        // Each customer's changed versions by start, once: a customer whose every order starts a version has as many.
        var byStart = new Dictionary<string, (CustomerVersion[] Versions, DateTime[] Starts)>(histories.Count, StringComparer.Ordinal);
        foreach (var incoming in newOrders)
        {
            var order = incoming.Order;
            var change = histories[order.CustomerId].Change;
            if (!byStart.TryGetValue(order.CustomerId, out var sorted))
            {
                var ordered = change.Changed.OrderBy(v => v.ValidFrom).ToArray();
                // Disjoint, or the facts' join would match an order with two versions and store it twice.
                for (var i = 0; i + 1 < ordered.Length; i++)
                {
                    if (ordered[i].ValidTo is not { } until || until > ordered[i + 1].ValidFrom)
                    {
                        throw new InvalidOperationException(
                            $"Customer {order.CustomerId}: versions {ordered[i].Sk} and {ordered[i + 1].Sk} overlap; the cycle is not staged");
                    }
                }

                byStart[order.CustomerId] = sorted = (ordered, ordered.Select(v => v.ValidFrom).ToArray());
            }

            // The last version starting at or before the order (disjoint, so the only one that can hold it).
            var at = Array.BinarySearch(sorted.Starts, order.OrderTimestamp);
            var found = at >= 0 ? at : ~at - 1;
            var byTime = found >= 0 && (sorted.Versions[found].ValidTo is not { } end || order.OrderTimestamp < end) ? sorted.Versions[found].Sk : (long?)null;
            var chosen = change.NewOrderVersions[order.OrderId];
            if (byTime != chosen)
            {
                throw new InvalidOperationException(
                    $"Customer {order.CustomerId}: order {order.OrderId} belongs to version {chosen}, but its time falls in " +
                    $"{byTime?.ToString(CultureInfo.InvariantCulture) ?? "none"} of the versions written; the cycle is not staged");
            }
        }
    }

    /// <summary>
    /// The distinct texts of the orders, in their first order, in sets sized for the batch at once (a growing set
    /// allocated its arrays over again, in every batch).
    /// </summary>
    private static string[] DistinctTexts(IReadOnlyList<IncomingOrder> orders, Func<IncomingOrder, string> text)
    {
        var seen = new HashSet<string>(orders.Count, StringComparer.Ordinal);
        var distinct = new List<string>(orders.Count);
        for (var i = 0; i < orders.Count; i++)
        {
            var value = text(orders[i]);
            if (seen.Add(value))
            {
                distinct.Add(value);
            }
        }

        return [.. distinct];
    }

    /// <summary>As <see cref="DistinctTexts"/>, each text a row of one value.</summary>
    private static object?[][] DistinctTextRows(IReadOnlyList<IncomingOrder> orders, Func<IncomingOrder, string> text) =>
        Array.ConvertAll(DistinctTexts(orders, text), value => new object?[] { value });

    /// <summary>The ids of the batch's new orders, for a check that reads the facts (<see cref="RowSet.OrderIdsToLookUp"/>).</summary>
    private static RowSet NewOrderIds(IEnumerable<IncomingOrder> newOrders) =>
        new("new_orders", [new("ORDER_ID", ColumnType.Text)], new DeferredRows(() => newOrders.Select(o => new object?[] { o.Order.OrderId }).ToArray()))
        {
            OrderIdsToLookUp = true,
        };

    /// <summary>Runs the transaction (prepared already, or not); after a failure, finds out whether it was refused as stale.</summary>
    private async Task<BatchWriteResult> RunAsync(BatchTransaction transaction, PreparedTransaction? prepared, CancellationToken cancellationToken)
    {
        var (plan, progress, _, statements, result, newDates, claimRanges) = transaction;
        var newOrders = plan.Classification.New;
        if (statements.Count > 0)
        {
            try
            {
                if (prepared is not null)
                {
                    await prepared.ExecuteAsync(cancellationToken);
                }
                else if (await warehouse.ExecuteCountedTransactionAsync(statements, cancellationToken) is { } span)
                {
                    _versions.Committed(span, plan.CommitSequenceBeforeReads, plan.Histories.Select(h => KeyValuePair.Create(h.Key, h.Value.Change.Versions)));
                }

                foreach (var date in newDates)
                {
                    _storedDates[date] = true;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The check makes a stale batch fail rather than commit. Which failure it was is read from the
                // warehouse itself, not from the error's text: Snowflake wraps, and may cut, the errors of
                // multi-statement requests. If the warehouse cannot be read now, the original error stands.
                Exception? stale = null;
                try
                {
                    stale = await FindStalenessAsync(newOrders, progress, claimRanges, plan.Histories, ex, cancellationToken);
                }
                catch (Exception diagnosis) when (diagnosis is not OperationCanceledException)
                {
                    // Nothing to add: the write failed, and is retried as any failure is.
                }

                if (stale is not null)
                {
                    throw stale;
                }

                throw;
            }
        }

        return result;
    }

    /// <summary>
    /// After a failed batch transaction: whether another writer overtook the batch. A partition stored past where
    /// the batch starts in it makes a <see cref="StaleBatchException"/>; one of the batch's new orders now stored, or a
    /// customer's versions no longer as read, a <see cref="StaleReadException"/>; otherwise null.
    /// </summary>
    private async Task<Exception?> FindStalenessAsync(
        IReadOnlyList<IncomingOrder> newOrders, IReadOnlyList<PartitionProgress> progress, IReadOnlyList<LandedClaimRange> claimRanges,
        Dictionary<string, (IReadOnlyList<CustomerVersion> Stored, CustomerHistoryChange Change)> histories, Exception error, CancellationToken cancellationToken)
    {
        foreach (var topic in progress.Where(p => p.FirstOffset is not null).Select(p => p.Topic).Distinct(StringComparer.Ordinal))
        {
            var stored = (await ReadOffsetsAsync(topic, cancellationToken)).ToDictionary(o => o.Partition);
            foreach (var partition in progress.Where(p => p.Topic == topic && p.FirstOffset is not null))
            {
                if (stored.TryGetValue(partition.Partition, out var offset) && offset.NextOffset > partition.FirstOffset)
                {
                    return new StaleBatchException(
                        $"The batch is no longer current: partition {partition.Partition} is already stored up to offset {offset.NextOffset}", error);
                }
            }
        }

        if (claimRanges.Count > 0)
        {
            // The landed rows it read, as it claimed them: who took them? One row set, with the landing ids written out,
            // so that a large one can be sliced into several statements (Snowflake), as a query over two sets cannot.
            var taken = await warehouse.QueryAsync(SqlStatement.WithSources(SqlScripts.Get("ingestion/read_taken_claims.sql"), LandedClaim.RangeKeys(claimRanges)), cancellationToken);
            if (taken.Count > 0)
            {
                return new StaleReadException($"Another modelling transaction took {taken.Count} of the landed orders this one read", error);
            }
        }

        if (newOrders.Count == 0)
        {
            return null;
        }

        if ((await ClassifyAsync(newOrders, cancellationToken)).New.Count != newOrders.Count)
        {
            return new StaleReadException("Another writer stored orders of this batch after it read them", error);
        }

        var now = await ReadCustomerVersionsAsync(histories.Keys, cancellationToken);
        return now.ToHashSet().SetEquals(histories.Values.SelectMany(h => h.Stored))
            ? null
            : new StaleReadException("Another writer changed the history of customers of this batch after it read them", error);
    }

    /// <summary>
    /// Rebuilds the history of every customer of <paramref name="orders"/> from its stored versions (given, or read
    /// here) and the stored orders of the versions the new orders fall into (one query for the whole batch). For the
    /// customers of <paramref name="before"/>, a transaction that may not have committed yet, the versions are the ones it
    /// writes, and their orders are read by time (what it stores may still be missing, or keyed to an old version) and
    /// joined with its new orders.
    /// </summary>
    private async Task<Dictionary<string, (IReadOnlyList<CustomerVersion> Stored, CustomerHistoryChange Change)>> RebuildHistoriesAsync(
        IReadOnlyList<IncomingOrder> orders, IReadOnlyList<CustomerVersion>? storedVersions, BatchPlan? before,
        CancellationToken cancellationToken)
    {
        using var cpu = CpuByStage.Start(IngestionStage.History);
        var byCustomer = new Dictionary<string, List<CustomerObservation>>(orders.Count, StringComparer.Ordinal);
        foreach (var incoming in orders)
        {
            var order = incoming.Order;
            if (!byCustomer.TryGetValue(order.CustomerId, out var observations))
            {
                // Most customers have one order in a batch (about 2,600 orders among 10,000 simulated customers): room for
                // one at first, where a list's default of four left 96 bytes unused for such a customer (45 bytes an order
                // fewer allocated in steady state).
                byCustomer[order.CustomerId] = observations = new List<CustomerObservation>(1);
            }

            observations.Add(new CustomerObservation(order.OrderId, order.OrderTimestamp, order.CustomerName, order.CustomerRegion));
        }

        var stored = new Dictionary<string, List<CustomerVersion>>(byCustomer.Count, StringComparer.Ordinal);
        if (storedVersions is null)
        {
            var reading = ReadCustomerVersionsAsync(byCustomer.Keys, cancellationToken);
            cpu.SuspendUnless(reading.IsCompleted);
            storedVersions = await reading;
            cpu.Resume();
        }

        foreach (var version in storedVersions.Where(v => byCustomer.ContainsKey(v.CustomerId)))
        {
            if (!stored.TryGetValue(version.CustomerId, out var versions))
            {
                stored[version.CustomerId] = versions = [];
            }

            versions.Add(version);
        }

        var opened = new List<object?[]>();
        var spans = new List<CustomerVersion>();
        foreach (var (customerId, versions) in stored)
        {
            versions.Sort((a, b) => a.ValidFrom.CompareTo(b.ValidFrom));
            var times = byCustomer[customerId].ConvertAll(o => o.Timestamp);
            foreach (var version in CustomerHistory.VersionsToOpen(versions, times))
            {
                if (before is not null && before.Histories.ContainsKey(customerId))
                {
                    spans.Add(version);
                }
                else
                {
                    opened.Add([version.Sk]);
                }
            }
        }

        var readingByKey = opened.Count == 0 ? null : warehouse.QueryAsync(SqlStatement.WithSources(
            SqlScripts.Get("ingestion/read_version_orders.sql"), new RowSet("opened", [new("CUSTOMER_SK", ColumnType.BigInt)], opened)), cancellationToken);
        var readingByTime = spans.Count == 0 ? null : warehouse.QueryAsync(SqlStatement.WithSources(
            SqlScripts.Get("ingestion/read_customer_orders_between.sql"), new RowSet("spans", SpanColumns,
                spans.Select(v => new object?[] { v.CustomerId, v.ValidFrom, v.LastSeenAt }).ToArray())), cancellationToken);
        var openedOrders = new Dictionary<long, List<StoredCustomerOrder>>();
        void Add(StoredCustomerOrder order)
        {
            if (!openedOrders.TryGetValue(order.Sk, out var list))
            {
                openedOrders[order.Sk] = list = [];
            }

            list.Add(order);
        }

        cpu.SuspendUnless((readingByKey?.IsCompleted ?? true) && (readingByTime?.IsCompleted ?? true));
        if (readingByKey is not null)
        {
            foreach (var row in await readingByKey)
            {
                Add(new StoredCustomerOrder((string)row[1]!, (DateTime)row[2]!, Convert.ToInt64(row[0], CultureInfo.InvariantCulture)));
            }
        }

        if (readingByTime is not null)
        {
            // What the warehouse holds (before or after the running transaction committed), and what that transaction
            // stores: each order once, in the version whose span holds it.
            var placed = new HashSet<string>(StringComparer.Ordinal);
            var spansOf = spans.GroupBy(v => v.CustomerId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
            var rows = (await readingByTime).Select(row => ((string)row[0]!, (string)row[1]!, (DateTime)row[2]!))
                .Concat(before!.Classification.New.Select(o => (o.Order.CustomerId, o.Order.OrderId, o.Order.OrderTimestamp)));
            foreach (var (customerId, orderId, timestamp) in rows)
            {
                var span = spansOf.TryGetValue(customerId, out var ofCustomer) ? Array.Find(ofCustomer, v => v.ValidFrom <= timestamp && timestamp <= v.LastSeenAt) : null;
                if (span is not null && placed.Add(orderId))
                {
                    Add(new StoredCustomerOrder(orderId, timestamp, span.Sk));
                }
            }
        }

        cpu.Resume(); // Where the reads above had to wait: what they returned is taken in untimed, the rebuild timed.
        var histories = new Dictionary<string, (IReadOnlyList<CustomerVersion> Stored, CustomerHistoryChange Change)>(byCustomer.Count, StringComparer.Ordinal);
        foreach (var (customerId, observations) in byCustomer)
        {
            IReadOnlyList<CustomerVersion> versions = stored.TryGetValue(customerId, out var found) ? found : [];
            List<StoredCustomerOrder>? versionOrders = null;
            foreach (var version in versions)
            {
                if (openedOrders.TryGetValue(version.Sk, out var list))
                {
                    (versionOrders ??= []).AddRange(list);
                }
            }

            histories[customerId] = (versions, CustomerHistory.Rebuild(customerId, versions, (IReadOnlyCollection<StoredCustomerOrder>?)versionOrders ?? [], observations));
        }

        return histories;
    }

    private static readonly Column[] SpanColumns =
    [
        new("CUSTOMER_ID", ColumnType.Text), new("SPAN_FROM", ColumnType.Timestamp), new("SPAN_TO", ColumnType.Timestamp),
    ];

    /// <summary>
    /// Every stored version of the given customers as they stood at <paramref name="sequence"/> (the warehouse's
    /// <see cref="IWarehouseProvider.CommitSequence"/> before the plan's reads): those held in <see cref="_versions"/>,
    /// and the others read (and held if nothing committed meanwhile).
    /// </summary>
    private async Task<IReadOnlyList<CustomerVersion>> TakeCustomerVersionsAsync(long sequence, IReadOnlyList<string> customerIds, CancellationToken cancellationToken)
    {
        var (held, toRead) = _versions.Take(sequence, customerIds);
        if (toRead.Count == 0)
        {
            return held;
        }

        var read = await ReadCustomerVersionsAsync(toRead, cancellationToken);
        if (warehouse.CommitSequence == sequence)
        {
            _versions.Fill(sequence, toRead, read);
        }

        held.AddRange(read);
        return held;
    }

    /// <summary>Every stored version of the given customers (one query).</summary>
    private async Task<IReadOnlyList<CustomerVersion>> ReadCustomerVersionsAsync(IEnumerable<string> customerIds, CancellationToken cancellationToken)
    {
        var keys = new RowSet("customers", [new("CUSTOMER_ID", ColumnType.Text)], customerIds.Select(id => new object?[] { id }).ToArray());
        var rows = await warehouse.QueryAsync(SqlStatement.WithSources(SqlScripts.Get("ingestion/read_customer_versions.sql"), keys), cancellationToken);
        return rows.Select(row => new CustomerVersion(
                Convert.ToInt64(row[0], CultureInfo.InvariantCulture), (string)row[1]!, (string)row[2]!, (string)row[3]!,
                (DateTime)row[4]!, (DateTime?)row[5], (DateTime)row[6]!, Convert.ToInt64(row[7] ?? 0L, CultureInfo.InvariantCulture)))
            .ToArray();
    }

    private static object?[] VersionRow(CustomerVersion v) =>
        [v.Sk, v.CustomerId, v.Name, v.Region, v.ValidFrom, v.ValidTo, v.IsCurrent, v.LastSeenAt, v.OrderCount];

    private static object?[] DateRow(DateOnly date)
    {
        var weekday = date.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)date.DayOfWeek;
        return
        [
            date, date.Day, date.Month, date.Year, ((date.Month - 1) / 3) + 1, weekday,
            date.DayOfWeek.ToString(), CultureInfo.InvariantCulture.DateTimeFormat.GetMonthName(date.Month), weekday >= 6,
        ];
    }
}
