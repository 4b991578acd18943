using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;

namespace Ecommerce.Benchmarks.Scenarios;

/// <summary>
/// The pipeline on events shaped like the original Python producer's rather than the simulator's: no message key
/// (so a customer's orders spread over every partition), a random name and region on every order of a customer
/// (so nearly every order is a customer version of its own), 5,000 customers, 60 products, and order times spread
/// at random over 60 days, sent in random time order (so most orders land inside a customer's stored history).
/// </summary>
public static class OriginalProducerShape
{
    public const int Customers = 5_000;
    public const int Products = 60;

    private static readonly string[] FirstNames =
        ["Ada", "Bo", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivan", "Jun", "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq"];

    private static readonly string[] LastNames =
        ["Okafor", "Lind", "Moreau", "Sato", "Novak", "Silva", "Haddad", "Kowalski", "Nguyen", "Berg", "Costa", "Yilmaz", "Larsen", "Ivanova", "Park", "Dubois"];

    private static readonly string[] States =
        ["Alabama", "Alaska", "Arizona", "California", "Colorado", "Florida", "Georgia", "Idaho", "Kansas", "Maine", "Nevada", "Ohio", "Oregon", "Texas", "Utah", "Vermont"];

    private static readonly string[] Categories = ["Electronics", "Books", "Clothing", "Home", "Sports", "Toys"];

    public static async Task<ThroughputResult> RunAsync(BenchContext context, int orders, int seed = 7)
    {
        await using var broker = BenchContext.StartBroker();
        var produced = Produce(broker.BootstrapServers, orders, seed);
        var drain = BenchContext.Drain(broker, orders);

        await using var consumer = BenchContext.StartConsumer(broker, context.NewWarehouse());
        var (rate, cpu) = await BenchContext.WaitForIngestAsync(consumer, orders, TimeSpan.FromMinutes(10));
        var peak = BenchContext.Resources(consumer.Id).PeakMegabytes;
        await consumer.StopAsync(TimeSpan.FromSeconds(30));
        return new ThroughputResult(orders, produced, drain, rate, peak, cpu / orders * 1_000_000);
    }

    /// <summary>Sends the events with a plain producer, as fast as the broker takes them; returns the rate.</summary>
    private static double Produce(string bootstrapServers, int count, int seed)
    {
        var random = new Random(seed);
        var end = new DateTime(2026, 11, 30, 0, 0, 0, DateTimeKind.Utc);
        var products = Enumerable.Range(1, Products)
            .Select(i => (Id: $"PRD-{i:D3}", Name: $"Product {i}", Category: Categories[i % Categories.Length], Price: Math.Round(5 + (random.NextDouble() * 495), 2)))
            .ToArray();
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            LingerMs = 20,
            BatchSize = 1_000_000,
            Acks = Acks.All,
            StickyPartitioningLingerMs = 0, // A random partition for every event, as kafka-python chooses for events without a key.
            QueueBufferingMaxMessages = 2_000_000,
            QueueBufferingMaxKbytes = 1_048_576,
        }).SetLogHandler((_, _) => { }).Build();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var failed = 0;
        for (var i = 0; i < count; i++)
        {
            var product = products[random.Next(products.Length)];
            var microsecondsBefore = random.NextInt64(60L * 24 * 3600 * 1_000_000);
            var order = new Dictionary<string, object>
            {
                ["order_id"] = new Guid(Enumerable.Range(0, 16).Select(_ => (byte)random.Next(256)).ToArray()).ToString(),
                ["order_timestamp"] = end.AddTicks(-microsecondsBefore * 10).ToString("yyyy-MM-ddTHH:mm:ss.ffffff", CultureInfo.InvariantCulture),
                ["customer_id"] = $"CUST-{random.Next(Customers):D5}",
                ["customer_name"] = $"{FirstNames[random.Next(FirstNames.Length)]} {LastNames[random.Next(LastNames.Length)]}",
                ["customer_region"] = States[random.Next(States.Length)],
                ["product_id"] = product.Id,
                ["product_name"] = product.Name,
                ["category"] = product.Category,
                ["price"] = product.Price,
                ["quantity"] = random.Next(1, 6),
            };
            producer.Produce("orders", new Message<Null, byte[]> { Value = JsonSerializer.SerializeToUtf8Bytes(order) }, report =>
            {
                if (report.Error.IsError)
                {
                    Interlocked.Increment(ref failed);
                }
            });
        }

        producer.Flush(TimeSpan.FromMinutes(2));
        if (failed > 0)
        {
            throw new InvalidOperationException($"{failed} of {count} events could not be sent.");
        }

        return count / clock.Elapsed.TotalSeconds;
    }
}
