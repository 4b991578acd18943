using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ecommerce.Producer.Simulation;
using Ecommerce.Testing;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Simulation;

/// <summary>The simulator as a real process against the embedded broker, as a user runs it standalone.</summary>
public sealed partial class SimulatorServiceTests : PipelineTest
{
    private ServiceProcess StartSimulator(long count, double rate, int? seed = null) =>
        StartSimulator(count, rate, ("Simulator__Seed", seed?.ToString(CultureInfo.InvariantCulture)), ("Simulator__InvalidRate", "0.02"));

    [Fact]
    public async Task A_bounded_run_sends_exactly_count_orders_in_the_seeded_sequence_and_exits_with_code_0()
    {
        const int count = 5_000;
        await using var simulator = StartSimulator(count, rate: 0, seed: 17);

        using (var timeout = new CancellationTokenSource(Patience))
        {
            await simulator.WaitForExitAsync(timeout.Token);
        }

        Assert.Equal(0, simulator.ExitCode);
        Assert.Contains($"Simulator finished: {count} sent, {count} delivered, 0 failed", simulator.Output, StringComparison.Ordinal);

        var records = Kafka.ReadAll("orders", count, Patience);
        Assert.Equal(count, records.Count);

        // The same seed gives the same orders (ids included) as the generator produces here; only "now" differs.
        var generator = new OrderGenerator(new SimulatorOptions { Seed = 17, InvalidRate = 0.02 }, TimeProvider.System);
        var expected = Enumerable.Range(0, count).Select(_ => generator.Next()).ToList();
        Assert.Equal(expected.Select(e => e.Key).Order(StringComparer.Ordinal), records.Select(r => Encoding.UTF8.GetString(r.Message.Key!)).Order(StringComparer.Ordinal));
        var expectedIds = expected.Select(e => e.Order.OrderId).ToHashSet();
        var readableIds = records.Select(r => OrderIdOf(r.Message.Value!)).OfType<string>().ToList();
        Assert.All(readableIds, id => Assert.Contains(id, expectedIds));
        Assert.True(readableIds.Count >= expected.Count(e => e.Kind == EventKind.Valid));
        Assert.All(records, r => Assert.StartsWith("00-", Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("traceparent")), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_backfill_goes_out_at_once_and_the_rate_applies_from_the_first_order_of_now()
    {
        // 2,000 past orders, then 100 at 20 per second: about 5 s in all, where pacing the backfill too would take 105 s.
        var started = DateTimeOffset.UtcNow;
        await using var simulator = StartSimulator(2_100, 20, ("Simulator__Seed", "5"), ("Simulator__BackfillDays", "90"), ("Simulator__BackfillCount", "2000"));
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await simulator.WaitForExitAsync(timeout.Token);
        }

        Assert.Equal(0, simulator.ExitCode);
        var seconds = double.Parse(FinishedIn().Match(simulator.Output).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(seconds, 4.5, 60); // The 100 orders of now still keep to the rate.

        var times = Kafka.ReadAll("orders", 2_100, Patience)
            .Select(r => JsonDocument.Parse(r.Message.Value!).RootElement.GetProperty("order_timestamp").GetDateTimeOffset())
            .ToArray();
        // The backfill is spread over 90 days (one order per 65 minutes or so; the last few come close to now).
        Assert.InRange(times.Count(t => t >= started.AddSeconds(-1)), 100, 101); // The last of the backfill may fall there too.
        Assert.True(times.Count(t => t < started.AddHours(-2)) >= 1_990);
        Assert.Contains(times, t => t < started.AddDays(-89));
    }

    [Fact]
    public async Task Five_starts_with_a_store_seed_send_the_same_store_and_new_order_ids()
    {
        // As the AppHost starts it (Simulator:StoreSeed, no run seed): the catalogue and the customers are the same on
        // every start, the orders are not.
        const int perRun = 400;
        for (var run = 0; run < 5; run++)
        {
            await using var simulator = StartSimulator(perRun, 0, ("Simulator__StoreSeed", "2026"));
            using var timeout = new CancellationTokenSource(Patience);
            await simulator.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, simulator.ExitCode);
        }

        var orders = Kafka.ReadAll("orders", 5 * perRun, Patience).Select(r => JsonDocument.Parse(r.Message.Value!).RootElement).ToArray();
        Assert.Equal(5 * perRun, orders.Select(o => o.GetProperty("order_id").GetString()).Distinct().Count());

        // Every product has one name, category and price across the five runs.
        var products = orders.GroupBy(o => o.GetProperty("product_id").GetString())
            .Select(g => g.Select(o => (o.GetProperty("product_name").GetString(), o.GetProperty("category").GetString(), o.GetProperty("price").GetDecimal())).Distinct().Count())
            .ToArray();
        Assert.True(products.Length > 20);
        Assert.All(products, variants => Assert.Equal(1, variants));

        // Customers too, but the simulator lets one move region or change name now and then (2 in 1,000 orders).
        var customers = orders.GroupBy(o => o.GetProperty("customer_id").GetString())
            .Where(g => g.Count() > 1)
            .Select(g => g.Select(o => (o.GetProperty("customer_name").GetString(), o.GetProperty("customer_region").GetString())).Distinct().Count())
            .ToArray();
        Assert.True(customers.Length > 50);
        Assert.True(customers.Count(variants => variants == 1) >= customers.Length * 0.95, $"{customers.Count(v => v > 1)} of {customers.Length} customers differ");
    }

    [GeneratedRegex(@"Simulator finished: .* in ([0-9.]+) s")]
    private static partial Regex FinishedIn();

    [Fact]
    public async Task Sigterm_flushes_what_is_in_flight_so_every_order_counted_as_sent_is_on_the_broker()
    {
        await using var simulator = StartSimulator(count: 0, rate: 2_000);
        await simulator.WaitUntilHealthyAsync(Patience);
        await simulator.WaitForStatusAsync("/api/simulator/status", s => s.GetProperty("sent").GetInt64() >= 2_000, Patience, "2,000 orders sent");

        await simulator.StopAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, simulator.ExitCode);
        var summary = FinishedLine().Match(simulator.Output);
        Assert.True(summary.Success, simulator.Output);
        var sent = long.Parse(summary.Groups["sent"].Value, CultureInfo.InvariantCulture);
        Assert.Equal(sent, long.Parse(summary.Groups["delivered"].Value, CultureInfo.InvariantCulture));
        Assert.Equal(sent, Kafka.ReadAll("orders", (int)sent, Patience).Count);
    }

    [Fact]
    public async Task A_wrong_setting_fails_at_startup_naming_the_key()
    {
        await using var simulator = ServiceProcess.Start("Ecommerce.Producer", new Dictionary<string, string?>
        {
            ["ConnectionStrings__kafka"] = Kafka.BootstrapServers,
            ["Simulator__InvalidRate"] = "1.5",
        });

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => simulator.WaitUntilHealthyAsync(Patience));
        Assert.Contains("Simulator:InvalidRate", failure.Message, StringComparison.Ordinal);
    }

    private static string? OrderIdOf(byte[] payload)
    {
        try
        {
            using var json = JsonDocument.Parse(payload);
            return json.RootElement.TryGetProperty("order_id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"Simulator finished: (?<sent>\d+) sent, (?<delivered>\d+) delivered")]
    private static partial Regex FinishedLine();
}
