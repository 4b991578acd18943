using System.Globalization;
using System.Text.Json;
using Ecommerce.Testing;
using Ecommerce.Testing.Snowflake;

namespace Ecommerce.Tests.Infrastructure;

/// <summary>
/// Base of the tests that run the services as processes: a fresh embedded broker and a scratch folder per test,
/// and the two services started standalone against them, as a user would start them.
/// </summary>
public abstract class PipelineTest : IAsyncLifetime
{
    /// <summary>How long any one wait may take before the test fails with the service's output.</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    protected EmbeddedKafka Kafka { get; } = new();

    protected TempDirectory Scratch { get; } = new();

    protected string WarehousePath => Scratch.File("warehouse.duckdb");

    public virtual Task InitializeAsync() => Kafka.InitializeAsync();

    public virtual async Task DisposeAsync()
    {
        await Kafka.DisposeAsync();
        Scratch.Dispose();
    }

    /// <summary>Whether an <c>/api/ingestion/status</c> answer shows the service holding every partition of the test's broker.</summary>
    protected static bool OwnsEveryPartition(JsonElement status) =>
        status.GetProperty("partitions").GetArrayLength() == EmbeddedKafka.Partitions;

    /// <summary>
    /// Whether a status answer shows every partition held, read to its end and committed (no lag left): what the
    /// service reports then is final for what was on the broker.
    /// </summary>
    protected static bool CaughtUp(JsonElement status) =>
        OwnsEveryPartition(status)
        && status.GetProperty("partitions").EnumerateArray().All(p => p.GetProperty("lag").ValueKind == JsonValueKind.Number && p.GetProperty("lag").GetInt64() == 0);

    /// <summary>The ingestion service on this test's broker and warehouse; <paramref name="settings"/> add or override keys.</summary>
    protected ServiceProcess StartConsumer(EmbeddedKafka? kafka = null, string? warehousePath = null, params (string Key, string? Value)[] settings) =>
        ServiceProcess.Start("Ecommerce.Consumer", With(settings, new()
        {
            ["ConnectionStrings__kafka"] = (kafka ?? Kafka).BootstrapServers,
            ["ConnectionStrings__warehouse"] = $"Data Source={warehousePath ?? WarehousePath}",
        }));

    /// <summary>
    /// The ingestion service writing to Snowflake through the SQL API test double, authenticating with the key pair
    /// the double trusts (written to a key file, as a user would keep it).
    /// </summary>
    protected ServiceProcess StartConsumerOnSnowflake(SnowflakeSqlApiDouble snowflake, params (string Key, string? Value)[] settings)
    {
        var keyPath = Scratch.File("snowflake_rsa_key.p8");
        if (!File.Exists(keyPath))
        {
            File.WriteAllText(keyPath, snowflake.PrivateKeyPem);
        }

        return StartConsumer(settings: [.. snowflake.ConsumerSettings(keyPath), ("Snowflake__RetryFor", "00:00:10"), .. settings]);
    }

    /// <summary>The simulator sending <paramref name="count"/> orders (0 = endless) at <paramref name="rate"/> per second.</summary>
    protected ServiceProcess StartSimulator(long count, double rate, params (string Key, string? Value)[] settings) =>
        ServiceProcess.Start("Ecommerce.Producer", With(settings, new()
        {
            ["ConnectionStrings__kafka"] = Kafka.BootstrapServers,
            ["Simulator__Count"] = count.ToString(CultureInfo.InvariantCulture),
            ["Simulator__Rate"] = rate.ToString(CultureInfo.InvariantCulture),
        }));

    private static Dictionary<string, string?> With((string Key, string? Value)[] settings, Dictionary<string, string?> defaults)
    {
        foreach (var (key, value) in settings)
        {
            defaults[key] = value;
        }

        return defaults;
    }
}
