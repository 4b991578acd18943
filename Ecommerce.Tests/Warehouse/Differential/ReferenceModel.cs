using System.Globalization;

namespace Ecommerce.Tests.Warehouse.Differential;

/// <summary>
/// The answer key: what the warehouse must hold after every event of a stream was ingested, computed in the plainest
/// way from the partitions' logs. It shares no code with the ingestion service (no validator, no writer, no history
/// builder); it works from what the generator meant each event to be.
/// <list type="bullet">
/// <item>Within a partition, the first delivery of an order id is stored; a later one with the same content is a
/// redelivery, with other content a conflict that goes to the dead-letter topic, as does every invalid event.</item>
/// <item>A customer's name and region at an instant are those of the order at that instant with the smallest order id;
/// a version is a maximal run of consecutive instants (in time) with the same name and region, valid from its first
/// instant to the next version's first instant; it counts its orders and knows its last one.</item>
/// <item>Each order points at the version valid at its time; a product is named by its latest order (the smallest order
/// id among orders at that instant); the calendar has every day with an order; each partition's resume point is the
/// end of its log.</item>
/// </list>
/// Every table is given as sorted lines of text, so that a difference prints as the lines missing and the lines extra.
/// </summary>
public sealed class ReferenceModel
{
    public ReferenceModel(OrderLog stream)
    {
        var stored = new List<StreamOrder>();
        var deadLetters = new List<string>();
        var offsets = new List<string>();
        for (var partition = 0; partition < stream.Partitions.Count; partition++)
        {
            var log = stream.Partitions[partition];
            var first = new Dictionary<string, StreamOrder>(StringComparer.Ordinal);
            for (var offset = 0; offset < log.Count; offset++)
            {
                var record = log[offset];
                if (record.Order is not { } order)
                {
                    deadLetters.Add(DeadLetterLine(partition, offset, record.InvalidCode!));
                }
                else if (!first.TryGetValue(order.OrderId, out var earlier))
                {
                    first[order.OrderId] = order;
                    stored.Add(order);
                }
                else if (earlier != order)
                {
                    deadLetters.Add(DeadLetterLine(partition, offset, "conflict"));
                }
            }

            if (log.Count > 0)
            {
                offsets.Add(OffsetLine(partition, log.Count));
            }
        }

        var versions = new List<string>();
        var versionOf = new Dictionary<string, (string Name, string Region, DateTime From)>(StringComparer.Ordinal);
        foreach (var customer in stored.GroupBy(o => o.CustomerId, StringComparer.Ordinal))
        {
            var instants = customer
                .GroupBy(o => o.Timestamp)
                .OrderBy(g => g.Key)
                .Select(g => (At: g.Key, Speaker: g.OrderBy(o => o.OrderId, StringComparer.Ordinal).First(), Orders: g.ToList()))
                .ToList();
            var runs = new List<(string Name, string Region, DateTime From, DateTime Last, List<StreamOrder> Orders)>();
            foreach (var instant in instants)
            {
                if (runs.Count == 0 || runs[^1].Name != instant.Speaker.CustomerName || runs[^1].Region != instant.Speaker.Region)
                {
                    runs.Add((instant.Speaker.CustomerName, instant.Speaker.Region, instant.At, instant.At, []));
                }

                var run = runs[^1];
                run.Orders.AddRange(instant.Orders);
                runs[^1] = run with { Last = instant.At };
            }

            for (var i = 0; i < runs.Count; i++)
            {
                var run = runs[i];
                DateTime? to = i + 1 < runs.Count ? runs[i + 1].From : null;
                versions.Add(VersionLine(customer.Key, run.Name, run.Region, run.From, to, to is null, run.Orders.Count, run.Last));
                foreach (var order in run.Orders)
                {
                    versionOf[order.OrderId] = (run.Name, run.Region, run.From);
                }
            }
        }

        Facts = Sorted(stored.Select(o => FactLine(
            o.OrderId, o.Timestamp, o.CustomerId, o.ProductId, o.Price, o.Quantity, o.Price * o.Quantity, DateOnly.FromDateTime(o.Timestamp),
            versionOf[o.OrderId].Name, versionOf[o.OrderId].Region, versionOf[o.OrderId].From)));
        Versions = Sorted(versions);
        Products = Sorted(stored
            .GroupBy(o => o.ProductId, StringComparer.Ordinal)
            .Select(g => g.OrderByDescending(o => o.Timestamp).ThenBy(o => o.OrderId, StringComparer.Ordinal).First())
            .Select(o => ProductLine(o.ProductId, o.ProductName, o.Category)));
        Dates = Sorted(stored.Select(o => DateOnly.FromDateTime(o.Timestamp)).Distinct().Select(DateLine));
        Offsets = Sorted(offsets);
        DeadLetters = Sorted(deadLetters);
    }

    public IReadOnlyList<string> Facts { get; }

    public IReadOnlyList<string> Versions { get; }

    public IReadOnlyList<string> Products { get; }

    public IReadOnlyList<string> Dates { get; }

    public IReadOnlyList<string> Offsets { get; }

    /// <summary>Distinct (partition, offset, code) of the events that must be on the dead-letter topic.</summary>
    public IReadOnlyList<string> DeadLetters { get; }

    public static string FactLine(
        string orderId, DateTime at, string customerId, string productId, decimal price, long quantity, decimal total, DateOnly date,
        string? name, string? region, DateTime? versionFrom) =>
        Invariant($"{orderId} | {Time(at)} | {customerId} | {productId} | {price:F2} x {quantity} = {total:F2} | {date:yyyy-MM-dd} | version {name} / {region} from {(versionFrom is { } from ? Time(from) : "NONE")}");

    public static string VersionLine(string customerId, string name, string region, DateTime from, DateTime? to, bool current, long orders, DateTime lastOrder) =>
        Invariant($"{customerId} | {name} | {region} | {Time(from)} .. {(to is { } end ? Time(end) : "open")} | current {current} | {orders} orders, last {Time(lastOrder)}");

    public static string ProductLine(string productId, string name, string category) => $"{productId} | {name} | {category}";

    public static string DateLine(DateOnly date)
    {
        var weekday = date.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)date.DayOfWeek;
        return Invariant($"{date:yyyy-MM-dd} | {date.Day} {date.Month} {date.Year} | Q{((date.Month - 1) / 3) + 1} | weekday {weekday} | weekend {weekday >= 6}");
    }

    public static string OffsetLine(int partition, long next) => Invariant($"partition {partition} resumes at {next}");

    public static string DeadLetterLine(int partition, long offset, string code) => Invariant($"partition {partition} offset {offset}: {code}");

    private static string Time(DateTime at) => at.ToString("yyyy-MM-dd HH:mm:ss.fffffff", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string[] Sorted(IEnumerable<string> lines) => lines.Order(StringComparer.Ordinal).ToArray();
}
