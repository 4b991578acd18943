using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Ecommerce.Tests.Warehouse.Differential;

/// <summary>An order as the generator meant it, before it became bytes.</summary>
public sealed record StreamOrder(
    string OrderId, DateTime Timestamp, string CustomerId, string CustomerName, string Region,
    string ProductId, string ProductName, string Category, decimal Price, int Quantity);

/// <summary>One record of a partition's log: an order (possibly a redelivery or a conflicting reuse of an id), or an invalid event.</summary>
public sealed record StreamRecord(byte[]? Key, byte[] Value, StreamOrder? Order, string? InvalidCode);

/// <summary>How the producer of a stream keys its records.</summary>
public enum StreamKeying
{
    /// <summary>By customer id, as this project's simulator does: a customer's orders share a partition.</summary>
    CustomerId,

    /// <summary>By order id: a customer's orders spread over all partitions.</summary>
    OrderId,

    /// <summary>No key, as the original Python producer: any partition.</summary>
    None,
}

/// <summary>
/// A random stream of order events in Kafka partitions, from a seed: few customers and products, so that histories
/// change, interleave and collide; events that arrive late (or in random time order, as the original producer's
/// do); several orders of a customer at the very same instant; redeliveries, conflicting reuses of an order id
/// (always in the partition of the first delivery, as a producer's retry would be), and invalid events.
/// </summary>
public sealed class OrderLog
{
    private static readonly DateTime Start = new(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly string[] Regions = ["North", "South", "East", "West", "Île-de-France"];
    private static readonly string[] Names = ["Ada Lovelace", "Grace Hopper", "Zoë Kravitz", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov"];
    private static readonly string[] Categories = ["Electronics", "Books", "Garden", "Toys"];

    private OrderLog(int seed, StreamKeying keying, IReadOnlyList<IReadOnlyList<StreamRecord>> partitions, string shape)
    {
        Seed = seed;
        Keying = keying;
        Partitions = partitions;
        Shape = shape;
    }

    public int Seed { get; }

    public StreamKeying Keying { get; }

    /// <summary>Each partition's log; a record's offset is its index.</summary>
    public IReadOnlyList<IReadOnlyList<StreamRecord>> Partitions { get; }

    /// <summary>A line describing the stream's parameters, for failure messages.</summary>
    public string Shape { get; }

    public int EventCount => Partitions.Sum(p => p.Count);

    /// <summary>A random log from <paramref name="seed"/>; the optional arguments fix what the seed would otherwise draw.</summary>
    public static OrderLog Generate(
        int seed, int? events = null, int? customers = null, int? partitions = null, StreamKeying? keying = null, double? lateness = null)
    {
        // Every value is drawn whether or not it is overridden, so that a seed means the same log either way.
        var random = new Random(seed);
        var keyingDrawn = (StreamKeying)random.Next(3);
        var partitionsDrawn = random.Next(1, 5);
        var customersDrawn = random.Next(2, 9);
        var products = Enumerable.Range(1, random.Next(1, 6)).Select(i => $"P{i}").ToArray();
        var eventsDrawn = random.Next(30, 160);
        var spanMinutes = random.Next(60, 60 * 24 * 20);
        var latenessDrawn = random.Next(4) switch
        {
            0 => 0.0, // in time order
            1 => 0.05, // a few late events
            2 => 0.3, // many late events
            _ => 1.0, // random time order, as the original producer
        };
        var keyingUsed = keying ?? keyingDrawn;
        var partitionCount = partitions ?? partitionsDrawn;
        var customerIds = Enumerable.Range(1, customers ?? customersDrawn).Select(i => $"C{i}").ToArray();
        var eventCount = events ?? eventsDrawn;
        var late = lateness ?? latenessDrawn;

        // Each customer's life: a few spells with a name and a region, and now and then an order that says otherwise.
        var spells = customerIds.ToDictionary(c => c, _ => Enumerable.Range(0, random.Next(1, 4))
            .Select(_ => (From: random.Next(spanMinutes), Name: Names[random.Next(Names.Length)], Region: Regions[random.Next(Regions.Length)]))
            .OrderBy(s => s.From).ToArray());

        var orders = new List<StreamOrder>();
        var lastMinute = new Dictionary<string, int>();
        for (var i = 0; i < eventCount; i++)
        {
            var customer = customerIds[random.Next(customerIds.Length)];
            // Now and then an order at the very instant of the customer's previous one.
            var minute = random.NextDouble() < 0.08 && lastMinute.TryGetValue(customer, out var previous) ? previous : random.Next(spanMinutes);
            lastMinute[customer] = minute;
            var spell = spells[customer].LastOrDefault(s => s.From <= minute, spells[customer][0]);
            var (name, region) = random.NextDouble() < 0.1
                ? (Names[random.Next(Names.Length)], Regions[random.Next(Regions.Length)])
                : (spell.Name, spell.Region);
            var product = products[random.Next(products.Length)];
            orders.Add(new StreamOrder(
                $"o-{seed}-{i:D4}", Start.AddMinutes(minute).AddSeconds(random.Next(2) * 30), customer, name, region, product,
                $"{product} {(random.NextDouble() < 0.2 ? "v2" : "v1")}", Categories[random.Next(Categories.Length)],
                random.Next(100, 50_000) / 100m, random.Next(1, 6)));
        }

        // Arrival order: time order, displaced at random for the late share.
        var arrival = orders
            .Select(o => (Order: o, At: (o.Timestamp - Start).TotalMinutes + (random.NextDouble() < late ? random.Next(spanMinutes) : 0)))
            .OrderBy(a => a.At)
            .Select(a => a.Order)
            .ToList();

        var logs = Enumerable.Range(0, partitionCount).Select(_ => new List<StreamRecord>()).ToArray();
        var placed = new List<(int Partition, StreamRecord Record)>();
        foreach (var order in arrival)
        {
            var (key, partition) = keyingUsed switch
            {
                StreamKeying.CustomerId => (order.CustomerId, Hash(order.CustomerId) % partitionCount),
                StreamKeying.OrderId => (order.OrderId, Hash(order.OrderId) % partitionCount),
                _ => ((string?)null, random.Next(partitionCount)),
            };
            var record = new StreamRecord(key is null ? null : Encoding.UTF8.GetBytes(key), Json(order, random), order, null);
            logs[partition].Add(record);
            placed.Add((partition, record));

            var roll = random.NextDouble();
            if (roll < 0.05)
            {
                logs[random.Next(partitionCount)].Add(Invalid(random, seed, logs.Sum(l => l.Count)));
            }
            else if (roll < 0.13 && placed.Count > 1)
            {
                // A redelivery of an earlier order (the same bytes) in that order's partition.
                var (p, earlier) = placed[random.Next(placed.Count)];
                logs[p].Add(earlier);
            }
            else if (roll < 0.17 && placed.Count > 1)
            {
                // The same order id again with other content: a conflict, to be dead-lettered.
                var (p, earlier) = placed[random.Next(placed.Count)];
                var changed = earlier.Order! with { Quantity = earlier.Order!.Quantity + 1 };
                logs[p].Add(new StreamRecord(earlier.Key, Json(changed, random), changed, null));
            }
        }

        var shape = $"seed {seed}: {eventCount} orders, {logs.Sum(l => l.Count)} events, {customerIds.Length} customers, {products.Length} products, " +
            $"{partitionCount} partitions keyed by {keyingUsed}, late share {late}, span {spanMinutes} min";
        return new OrderLog(seed, keyingUsed, logs, shape);
    }

    /// <summary>A log written out by hand: each partition's orders (null for an invalid event, with its code).</summary>
    public static OrderLog Of(params (StreamOrder? Order, string? InvalidCode)[][] partitions) =>
        new(0, StreamKeying.None, partitions.Select(p => (IReadOnlyList<StreamRecord>)p.Select(e =>
            new StreamRecord(null, e.Order is null ? "{"u8.ToArray() : Json(e.Order, new Random(0)), e.Order, e.InvalidCode)).ToArray()).ToArray(), "by hand");

    /// <summary>The same stream cut to some events (for the smallest failing stream): the others are left out.</summary>
    public OrderLog Without(Func<int, int, bool> leaveOut) =>
        new(Seed, Keying, Partitions.Select((log, p) => (IReadOnlyList<StreamRecord>)log.Where((_, o) => !leaveOut(p, o)).ToArray()).ToArray(), Shape + " (cut)");

    private static int Hash(string text)
    {
        // Stable across runs (string.GetHashCode is not).
        var hash = 17;
        foreach (var c in text)
        {
            hash = unchecked((hash * 31) + c);
        }

        return hash & int.MaxValue;
    }

    private static byte[] Json(StreamOrder order, Random random)
    {
        // The original producer writes naive UTC times; others write Z. Both mean UTC.
        var time = order.Timestamp.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + (random.Next(2) == 0 ? "Z" : "");
        var json = new JsonObject
        {
            ["order_id"] = order.OrderId,
            ["order_timestamp"] = time,
            ["customer_id"] = order.CustomerId,
            ["customer_name"] = order.CustomerName,
            ["customer_region"] = order.Region,
            ["product_id"] = order.ProductId,
            ["product_name"] = order.ProductName,
            ["category"] = order.Category,
            ["price"] = order.Price,
            ["quantity"] = order.Quantity,
        };
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    private static StreamRecord Invalid(Random random, int seed, int n) => random.Next(4) switch
    {
        0 => new StreamRecord(null, "{\"order_id\": \"broken"u8.ToArray(), null, "malformed_json"),
        1 => new StreamRecord(null, Encoding.UTF8.GetBytes($"{{\"order_id\":\"bad-{seed}-{n}\",\"order_timestamp\":\"2026-03-01T00:00:00Z\"}}"), null, "missing_field"),
        2 => new StreamRecord(null, Encoding.UTF8.GetBytes(
            $"{{\"order_id\":\"bad-{seed}-{n}\",\"order_timestamp\":\"2026-03-01T00:00:00Z\",\"customer_id\":\"C1\",\"customer_name\":\"A\"," +
            "\"customer_region\":\"North\",\"product_id\":\"P1\",\"product_name\":\"P\",\"category\":\"Books\",\"price\":5,\"quantity\":0}"), null, "out_of_range"),
        _ => new StreamRecord(null, "[1, 2, 3]"u8.ToArray(), null, "malformed_json"),
    };
}
