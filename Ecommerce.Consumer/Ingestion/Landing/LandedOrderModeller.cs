using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Ecommerce.Consumer.Orders;
using Ecommerce.Consumer.Warehouse;
using Microsoft.Extensions.Options;

namespace Ecommerce.Consumer.Ingestion.Landing;

/// <summary>
/// One modelling cycle of the Landed write path: reads the landed orders no transaction has taken yet, tells new
/// orders from redeliveries and conflicts (the first delivery of an order id wins, as on the direct path), rebuilds
/// the customers' histories, dead-letters the conflicts, and writes facts and dimensions in one transaction that also
/// takes the landed rows it read (<see cref="StarSchemaWriter.PrepareModelAsync"/>). Cycles grow with the backlog: one cycle
/// costs about as many statements for ten orders as for ten thousand.
/// </summary>
public sealed class LandedOrderModeller(
    IWarehouseProvider warehouse,
    StarSchemaWriter writer,
    DeadLetterPublisher deadLetters,
    IngestionStatus status,
    IngestionMetrics metrics,
    IOptions<IngestionOptions> options,
    TimeProvider time)
{
    private readonly IngestionOptions _options = options.Value;

    private static readonly Column[] AfterColumns =
    [
        new("SOURCE_TOPIC", ColumnType.Text), new("SOURCE_PARTITION", ColumnType.Integer), new("SOURCE_OFFSET", ColumnType.BigInt),
        new("LANDING_ID", ColumnType.Text),
    ];

    /// <summary>
    /// Models what has landed, up to <see cref="IngestionOptions.MaxModelledPerCycle"/> orders.
    /// Returns how many landed rows the cycle took (0: nothing was waiting). Throws <see cref="StaleReadException"/>
    /// when another transaction got there first (nothing was written; read again).
    /// </summary>
    public async Task<int> ModelOnceAsync(CancellationToken cancellationToken) =>
        await PrepareAsync(null, cancellationToken) is { } cycle ? await WriteAsync(cycle, cancellationToken) : 0;

    /// <summary>
    /// Reads and plans a cycle, dead-letters its conflicts and prepares its transaction, without running it. With
    /// <paramref name="running"/> (a cycle whose transaction has not committed yet), the cycle is planned as it will be
    /// once that one has committed: it takes none of its rows, and sees its orders and histories as written (see
    /// <see cref="StarSchemaWriter.PlanLandedAsync"/>); run it only after that one committed, and discard it if that one
    /// failed. Null when nothing is waiting.
    /// </summary>
    public async Task<ModellingCycle?> PrepareAsync(ModellingCycle? running, CancellationToken cancellationToken)
    {
        var after = new RowSet("after", AfterColumns, running?.Bounds ?? []);
        var rows = await warehouse.QueryAsync(
            SqlStatement.WithSources(SqlScripts.Get("ingestion/read_landed_orders.sql"), after) with { Parameters = [_options.MaxModelledPerCycle] },
            cancellationToken);
        if (rows.Count == 0)
        {
            return null;
        }

        // The read carries each order's stored copy (its digest), joined by order id: FACT_ORDERS holds one row per order
        // id, so each landed row comes once; should a hand-made duplicate ever be there, its row is taken once all the same.
        var stored = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<(string, string, int, long)>();
        var taken = new List<Landed>(rows.Count);
        foreach (var row in rows)
        {
            var landing = Landed.Of(row);
            if (seen.Add((landing.LandingId, landing.Order.Source.Topic, landing.Order.Source.Partition, landing.Order.Source.Offset)))
            {
                taken.Add(landing);
                if (row[15] is string digest)
                {
                    stored[landing.Order.Order.OrderId] = digest;
                }
            }
        }

        var landed = taken
            .OrderBy(l => l.Order.Source.Topic, StringComparer.Ordinal)
            .ThenBy(l => l.Order.Source.Partition)
            .ThenBy(l => l.Order.Source.Offset)
            .ThenBy(l => l.LandingId, StringComparer.Ordinal)
            .ToArray();
        var orders = landed.Select(l => l.Order).ToArray();
        var plan = await writer.PlanLandedAsync(orders, stored, running?.Plan, cancellationToken);
        var classification = plan.Classification;

        // Dead letters before the transaction, as on the direct path: a conflict that is sent and then not modelled (the
        // transaction failed) is sent again by the cycle that models it: at least once.
        var conflicts = new HashSet<IncomingOrder>(classification.Conflicts, ReferenceEqualityComparer.Instance);
        var duplicates = new HashSet<IncomingOrder>(classification.Duplicates, ReferenceEqualityComparer.Instance);
        if (conflicts.Count > 0)
        {
            await deadLetters.PublishAsync(await ConflictsAsync(landed.Where(l => conflicts.Contains(l.Order)).ToArray(), cancellationToken), cancellationToken);
        }

        var claims = landed.Select(l => new LandedClaim(l.LandingId, l.Order,
            conflicts.Contains(l.Order) ? LandedClaim.Conflict : duplicates.Contains(l.Order) ? LandedClaim.Duplicate : LandedClaim.New)).ToArray();
        var write = await writer.PrepareModelAsync(plan, claims, cancellationToken);

        // Per partition, the last row taken (landed is in partition and offset order): where the next cycle starts.
        var bounds = landed
            .GroupBy(l => (l.Order.Source.Topic, l.Order.Source.Partition))
            .Select(g => g.Last())
            .Select(l => new object?[] { l.Order.Source.Topic, l.Order.Source.Partition, l.Order.Source.Offset, l.LandingId })
            .ToArray();
        return new ModellingCycle(landed.Length, plan, write, bounds);
    }

    /// <summary>
    /// Runs a prepared cycle's transaction. Returns how many landed rows it took; throws <see cref="StaleReadException"/>
    /// when it was refused (nothing was written).
    /// </summary>
    public async Task<int> WriteAsync(ModellingCycle cycle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cycle);
        var classification = cycle.Plan.Classification;
        var started = time.GetTimestamp();
        await cycle.Write.ExecuteAsync(cancellationToken);

        var now = time.GetUtcNow();
        status.RecordModelled(classification.New.Count, classification.Duplicates.Count, classification.Conflicts.Count);
        metrics.RecordBatch(cycle.Count, time.GetElapsedTime(started));
        metrics.RecordEvents("ingested", classification.New.Count);
        metrics.RecordEvents("duplicate", classification.Duplicates.Count);
        metrics.RecordEvents("conflict", classification.Conflicts.Count, Rejection.ConflictCode);
        foreach (var incoming in classification.New)
        {
            var order = incoming.Order;
            metrics.RecordOrder(now.UtcDateTime - order.OrderTimestamp, order.Category, order.Price * order.Quantity, order.Quantity);
        }

        return cycle.Count;
    }

    /// <summary>
    /// Deletes the landed orders modelled before <paramref name="cutoff"/> (on this process's clock; an outcome's time
    /// is that of the lease holder that prepared its cycle), and their outcomes, in one transaction (sql/ingestion/prune_landed_orders.sql). Rows still waiting are
    /// kept whatever their age; so is a landed row whose outcome the transaction does not see.
    /// </summary>
    public async Task PruneAsync(DateTime cutoff, CancellationToken cancellationToken)
    {
        var prune = new RowSet("prune", [new("CUTOFF", ColumnType.Timestamp)], [[cutoff]]);
        await warehouse.ExecuteTransactionAsync(
            [
                new SqlStatement(SqlScripts.Get("ingestion/lock_landed_outcomes.sql")),
                SqlStatement.WithSources(SqlScripts.Get("ingestion/prune_landed_orders.sql"), prune),
                SqlStatement.WithSources(SqlScripts.Get("ingestion/prune_landed_outcomes.sql"), prune),
            ],
            cancellationToken);
    }

    /// <summary>The conflicts as dead letters, with their records as sent, read from the landing (one query).</summary>
    private async Task<IReadOnlyList<DeadLetter>> ConflictsAsync(IReadOnlyList<Landed> conflicts, CancellationToken cancellationToken)
    {
        var keys = LandedClaim.Keys(conflicts.Select(c => (c.LandingId, c.Order.Source)));
        var records = (await warehouse.QueryAsync(SqlStatement.WithSources(SqlScripts.Get("ingestion/read_landed_records.sql"), keys), cancellationToken))
            .ToDictionary(r => ((string)r[0]!, Convert.ToInt32(r[2], CultureInfo.InvariantCulture), Convert.ToInt64(r[3], CultureInfo.InvariantCulture)), r => ((string?)r[4], (string)r[5]!));
        return conflicts.Select(c =>
        {
            var (key, value) = records[(c.LandingId, c.Order.Source.Partition, c.Order.Source.Offset)];
            return new DeadLetter(c.Record(key, value), Rejection.Conflict(c.Order.Order.OrderId));
        }).ToArray();
    }

    /// <summary>A landed row: the order as ingestion read it.</summary>
    private sealed record Landed(string LandingId, IncomingOrder Order)
    {
        public static Landed Of(object?[] row)
        {
            var source = new SourcePosition((string)row[1]!, Convert.ToInt32(row[2], CultureInfo.InvariantCulture), Convert.ToInt64(row[3], CultureInfo.InvariantCulture));
            var order = new ParsedOrder(
                (string)row[4]!, (DateTime)row[5]!, (string)row[6]!, (string)row[7]!, (string)row[8]!, (string)row[9]!, (string)row[10]!,
                (string)row[11]!, Convert.ToDecimal(row[12], CultureInfo.InvariantCulture), Convert.ToInt32(row[13], CultureInfo.InvariantCulture));
            return new Landed((string)row[0]!, new IncomingOrder(order, (string)row[14]!, source, default));
        }

        /// <summary>The record it came in, from its key (base64) and value (text) as landed.</summary>
        public ConsumeResult<byte[]?, byte[]?> Record(string? key, string value) => new()
        {
            Topic = Order.Source.Topic,
            Partition = new Partition(Order.Source.Partition),
            Offset = new Offset(Order.Source.Offset),
            Message = new Message<byte[]?, byte[]?>
            {
                Key = key is null ? null : Convert.FromBase64String(key),
                Value = Encoding.UTF8.GetBytes(value),
                Headers = [],
            },
        };
    }
}
