using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ecommerce.Producer.Simulation;
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
