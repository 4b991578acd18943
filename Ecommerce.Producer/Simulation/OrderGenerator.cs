using System.Text.Json;
using System.Text.Json.Nodes;
using Bogus;

namespace Ecommerce.Producer.Simulation;

/// <summary>
/// Generates the order stream. Purchases follow a Zipf law over customers (a few order very often, most rarely),
/// customers move region or change name now and then, quantities are mostly small, and a configurable share
/// of events is late or deliberately invalid. With a seed, the sequence (ids included) is reproducible.
/// </summary>
public sealed class OrderGenerator
{
    /// <summary>
    /// Popularity follows a Zipf-Mandelbrot law, weight 1 / (rank + offset)^skew: a long tail of one-off buyers and
    /// a head of regulars. The offset flattens the very top, so that (with 10,000 customers) the busiest customer
    /// places under 1% of orders, the top 1% close to 30%, and half of the customers rarely order at all.
    /// </summary>
    private const double CustomerSkew = 1.0;
    private const double CustomerRankOffset = 20;
    private const double RegionMoveProbability = 0.002;
    private const double NameChangeProbability = 0.0005;

    private static readonly string[] RequiredFields =
        ["order_id", "order_timestamp", "customer_id", "customer_name", "customer_region", "product_id", "product_name", "category", "price", "quantity"];

    // Quantity 1 to 5 mostly, with an occasional bulk order.
    private static readonly int[] Quantities = [1, 2, 3, 4, 5, 8, 10];
    private static readonly float[] QuantityWeights = [0.50f, 0.24f, 0.12f, 0.07f, 0.05f, 0.015f, 0.005f];

    private readonly SimulatorOptions _options;
    private readonly TimeProvider _time;
    private readonly Randomizer _random;
    private readonly bool _seeded;
    private readonly Customer[] _customersByPopularity;
    private readonly double[] _popularityCdf;
    private DateTimeOffset? _backfillStart;
    private long _generated;

    public OrderGenerator(SimulatorOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _seeded = options.Seed.HasValue;
        _random = options.Seed is { } seed ? new Randomizer(seed) : new Randomizer();
        var storeRandom = options.Seed is null && options.StoreSeed is { } storeSeed ? new Randomizer(storeSeed) : _random;
        Store = new Store(storeRandom, options.Customers);

        // Popularity ranks are a random permutation, so the busiest customers are not simply C000001, C000002...
        _customersByPopularity = storeRandom.Shuffle(Store.Customers).ToArray();
        _popularityCdf = PopularityCdf(_customersByPopularity.Length, CustomerSkew, CustomerRankOffset);
    }

    public Store Store { get; }

    /// <summary>Whether the next order belongs to the backfill (sent as fast as the broker takes it, not at the rate).</summary>
    public bool InBackfill => _options.BackfillDays > 0 && _generated < _options.BackfillCount;

    public SimulatedEvent Next()
    {
        var order = NextOrder();
        _generated++;
        var kind = _random.Double() < _options.InvalidRate
            ? _random.ArrayElement(new[] { EventKind.MalformedJson, EventKind.MissingField, EventKind.NegativeQuantity, EventKind.WrongType })
            : EventKind.Valid;
        var payload = JsonSerializer.SerializeToUtf8Bytes(order, OrderEventJsonContext.Default.OrderEvent);
        if (kind != EventKind.Valid)
        {
            payload = Break(payload, kind);
        }

        return new SimulatedEvent(order.CustomerId, payload, kind, order);
    }

    private OrderEvent NextOrder()
    {
        var customer = PickCustomer();
        if (_random.Double() < RegionMoveProbability)
        {
            customer.Region = _random.ArrayElement(Store.Regions.Where(r => r != customer.Region).ToArray());
        }

        if (_random.Double() < NameChangeProbability)
        {
            var lastName = new Faker { Random = _random }.Name.LastName();
            customer.Name = $"{customer.Name.Split(' ')[0]} {lastName}";
        }

        var product = Store.Products[_random.Number(0, Store.Products.Count - 1)];
        var quantity = _random.WeightedRandom(Quantities, QuantityWeights);
        var orderId = _seeded ? SeededGuid() : Guid.NewGuid();
        return new OrderEvent(
            orderId.ToString(),
            NextTimestamp(),
            customer.Id,
            customer.Name,
            customer.Region,
            product.Id,
            product.Name,
            product.Category,
            product.Price,
            quantity);
    }

    private Customer PickCustomer()
    {
        var index = Array.BinarySearch(_popularityCdf, _random.Double());
        index = index < 0 ? ~index : index;
        return _customersByPopularity[Math.Min(index, _customersByPopularity.Length - 1)];
    }

    private DateTimeOffset NextTimestamp()
    {
        var now = Truncate(_time.GetUtcNow());
        if (_options.BackfillDays > 0 && _generated < _options.BackfillCount)
        {
            // The backfill walks forward from BackfillDays ago, so its orders arrive in time order.
            _backfillStart ??= now.AddDays(-_options.BackfillDays);
            var span = now - _backfillStart.Value;
            var step = span.Ticks / Math.Max(1, _options.BackfillCount);
            return Truncate(_backfillStart.Value.AddTicks((step * _generated) + (long)(_random.Double() * step)));
        }

        if (_options.LateRate > 0 && _random.Double() < _options.LateRate)
        {
            return Truncate(now.AddSeconds(-_random.Double(60, TimeSpan.FromDays(2).TotalSeconds)));
        }

        return now;
    }

    private byte[] Break(byte[] payload, EventKind kind)
    {
        if (kind == EventKind.MalformedJson)
        {
            // Cut the document off mid-way, as a crashed writer or a truncating proxy would.
            return payload[..(payload.Length / 2)];
        }

        var json = JsonNode.Parse(payload)!.AsObject();
        switch (kind)
        {
            case EventKind.MissingField:
                json.Remove(_random.ArrayElement(RequiredFields));
                break;
            case EventKind.NegativeQuantity:
                json["quantity"] = -_random.Number(1, 5);
                break;
            case EventKind.WrongType:
                if (_random.Bool())
                {
                    json["quantity"] = "two";
                }
                else
                {
                    json["price"] = "twelve ninety-nine";
                }

                break;
        }

        return JsonSerializer.SerializeToUtf8Bytes(json);
    }

    private Guid SeededGuid()
    {
        var bytes = _random.Bytes(16);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // Version 4 (random), as in Guid's little-endian layout.
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant.
        return new Guid(bytes);
    }

    private static DateTimeOffset Truncate(DateTimeOffset value) =>
        new(value.Ticks - (value.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    private static double[] PopularityCdf(int count, double exponent, double offset)
    {
        var cdf = new double[count];
        var total = 0d;
        for (var rank = 1; rank <= count; rank++)
        {
            total += 1 / Math.Pow(rank + offset, exponent);
            cdf[rank - 1] = total;
        }

        for (var i = 0; i < count; i++)
        {
            cdf[i] /= total;
        }

        return cdf;
    }
}
