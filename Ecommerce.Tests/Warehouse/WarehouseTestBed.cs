using System.Globalization;
using System.Text;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Consumer.Orders;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Consumer.Warehouse.Snowflake;
using Ecommerce.Testing.Snowflake;
using Ecommerce.Tests.Infrastructure;
using Ecommerce.Tests.Warehouse.Snowflake;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ecommerce.Tests.Warehouse;

/// <summary>
/// A warehouse with the schema applied, and helpers to write orders the way the ingestion service does. Either a
/// real DuckDB file, or Snowflake's SQL API as the loopback test double serves it (statements running on the
/// double's DuckDB), reached through the real Snowflake provider, HTTP client and key-pair authentication.
/// </summary>
public sealed class WarehouseTestBed : IAsyncDisposable
{
    public const string DuckDb = "DuckDb";
    public const string Snowflake = "Snowflake";

    /// <summary>A real Snowflake account, from SNOWFLAKE_* environment variables; a schema of its own per bed.</summary>
    public const string SnowflakeLive = "SnowflakeLive";

    private readonly TempDirectory _directory = new();
    private HttpClient? _http;
    private readonly List<IAsyncDisposable> _others = [];
    private Action<SnowflakeOptions>? _configure;
    private SnowflakeSqlApiClient? _liveAdmin;
    private string? _liveSchema;
    private long _offset;

    private WarehouseTestBed(DateTimeOffset? now)
    {
        Time = new FixedTimeProvider(now ?? new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    }

    public FixedTimeProvider Time { get; }

    public IWarehouseProvider Provider { get; private set; } = null!;

    public StarSchemaWriter Writer { get; private set; } = null!;

    /// <summary>The SQL API double behind the provider, when the warehouse is Snowflake.</summary>
    public SnowflakeSqlApiDouble? SnowflakeDouble { get; private set; }

    /// <summary>A bed on <paramref name="warehouse"/> (<see cref="DuckDb"/> or <see cref="Snowflake"/>).</summary>
    public static async Task<WarehouseTestBed> CreateAsync(string warehouse, DateTimeOffset? now = null, Action<SnowflakeOptions>? configure = null)
    {
        var bed = new WarehouseTestBed(now) { _configure = configure };
        if (warehouse == Snowflake)
        {
            // Small result partitions, so that every larger read (and every analytics answer) spans several.
            bed.SnowflakeDouble = await SnowflakeSqlApiDouble.StartAsync();
            bed.SnowflakeDouble.RowsPerPartition = 50;
            var options = bed.SnowflakeDouble.ClientOptions();
            configure?.Invoke(options);
            options.Validate();
            bed._http = SnowflakeSqlApiClient.CreateHttpClient(options);
            var client = new SnowflakeSqlApiClient(bed._http, options, SnowflakeCredentials.From(options, TimeProvider.System), TimeProvider.System, TestMeters.Shared,
                NullLogger<SnowflakeSqlApiClient>.Instance);
            bed.Provider = new SnowflakeWarehouseProvider(client, options, bed.Time);
        }
        else if (warehouse == SnowflakeLive)
        {
            await bed.ConnectLiveAsync(configure);
        }
        else
        {
            bed.Provider = new DuckDbWarehouseProvider($"Data Source={bed._directory.File("warehouse.duckdb")}");
        }

        bed.Writer = new StarSchemaWriter(bed.Provider, bed.Time);
        await bed.Writer.EnsureSchemaAsync(CancellationToken.None);
        return bed;
    }

    /// <summary>
    /// One more provider on the same warehouse, as a second writer would have: its own DuckDB connection to the same
    /// file, or its own HTTP client and session to the same SQL API double. Disposed with the bed.
    /// </summary>
    public IWarehouseProvider OpenAnotherProvider()
    {
        IWarehouseProvider provider;
        if (SnowflakeDouble is not null)
        {
            var options = SnowflakeDouble.ClientOptions();
            _configure?.Invoke(options);
            options.Validate();
            var http = SnowflakeSqlApiClient.CreateHttpClient(options);
            var client = new SnowflakeSqlApiClient(http, options, SnowflakeCredentials.From(options, TimeProvider.System), TimeProvider.System, TestMeters.Shared,
                NullLogger<SnowflakeSqlApiClient>.Instance);
            provider = new SnowflakeWarehouseProvider(client, options, Time);
            _others.Add(new DisposeAction(http.Dispose));
        }
        else if (Provider is DuckDbWarehouseProvider)
        {
            provider = new DuckDbWarehouseProvider($"Data Source={_directory.File("warehouse.duckdb")}");
        }
        else
        {
            throw new NotSupportedException("A second writer is set up for DuckDB and the SQL API double only.");
        }

        _others.Add(provider);
        return provider;
    }

    public static IncomingOrder Order(
        string orderId, DateTime timestamp, string customerId = "C1", string name = "Ada", string region = "North",
        string productId = "P1", string productName = "Laptop", string category = "Electronics", decimal price = 10m, int quantity = 1)
    {
        var parsed = new ParsedOrder(orderId, DateTime.SpecifyKind(timestamp, DateTimeKind.Utc), customerId, name, region, productId, productName, category, price, quantity);
        return new IncomingOrder(parsed, OrderValidator.Digest(parsed), new SourcePosition("orders", 0, 0), default);
    }

    /// <summary>Parses raw event bytes as the ingestion service would; fails the test on an invalid one.</summary>
    public static IncomingOrder Parse(byte[] payload, int partition = 0, long offset = 0)
    {
        Assert.True(OrderValidator.TryParse(payload, out var parsed, out var rejection), rejection?.Reason);
        return new IncomingOrder(parsed, OrderValidator.Digest(parsed), new SourcePosition("orders", partition, offset), default);
    }

    /// <summary>Classifies and writes one batch, as one ingestion flush does.</summary>
    public async Task<BatchClassification> IngestAsync(params IncomingOrder[] orders)
    {
        var first = _offset;
        var numbered = orders.Select(o => o with { Source = new SourcePosition("orders", 0, _offset++) }).ToArray();
        var classification = await Writer.ClassifyAsync(numbered, CancellationToken.None);
        await Writer.WriteAsync(classification.New, [new PartitionProgress("orders", 0, _offset, "digest") { FirstOffset = first }], CancellationToken.None);
        return classification;
    }

    public Task<IReadOnlyList<object?[]>> QueryAsync(string sql, params object?[] parameters) =>
        Provider.QueryAsync(new SqlStatement(sql, parameters), CancellationToken.None);

    public async Task<long> CountAsync(string table) =>
        Convert.ToInt64((await QueryAsync($"SELECT COUNT(*) FROM {table}"))[0][0], CultureInfo.InvariantCulture);

    /// <summary>A customer's versions, oldest first, as (name, region, from, to, current).</summary>
    public async Task<List<(string Name, string Region, DateTime From, DateTime? To, bool Current, long Sk)>> VersionsAsync(string customerId) =>
        (await QueryAsync(
            "SELECT CUSTOMER_NAME, CUSTOMER_REGION, VALID_FROM, VALID_TO, IS_CURRENT, CUSTOMER_SK FROM DIM_CUSTOMER WHERE CUSTOMER_ID = ? ORDER BY VALID_FROM",
            customerId))
        .Select(r => ((string)r[0]!, (string)r[1]!, (DateTime)r[2]!, (DateTime?)r[3], (bool)r[4]!, Convert.ToInt64(r[5], CultureInfo.InvariantCulture)))
        .ToList();

    /// <summary>The region of the customer version each order points at.</summary>
    public async Task<Dictionary<string, string>> RegionAtOrderTimeAsync() =>
        (await QueryAsync("SELECT f.ORDER_ID, c.CUSTOMER_REGION FROM FACT_ORDERS f JOIN DIM_CUSTOMER c ON c.CUSTOMER_SK = f.CUSTOMER_SK"))
        .ToDictionary(r => (string)r[0]!, r => (string)r[1]!);

    /// <summary>
    /// Connects to the account named by SNOWFLAKE_ACCOUNT and creates a schema for this bed alone (dropped again on
    /// dispose), so that runs never see each other's rows.
    /// </summary>
    private async Task ConnectLiveAsync(Action<SnowflakeOptions>? configure)
    {
        var options = LiveSnowflake.Options() ?? throw new InvalidOperationException(LiveSnowflake.SkipReason);
        _http = SnowflakeSqlApiClient.CreateHttpClient(options);
        var credentials = SnowflakeCredentials.From(options, TimeProvider.System);
        _liveAdmin = new SnowflakeSqlApiClient(_http, options, credentials, TimeProvider.System, TestMeters.Shared, NullLogger<SnowflakeSqlApiClient>.Instance);
        _liveSchema = $"ECOMMERCE_TEST_{Guid.NewGuid():N}".ToUpperInvariant();
        await _liveAdmin.ExecuteAsync("CREATE SCHEMA IDENTIFIER(?)", [SnowflakeValues.Bind(_liveSchema)], 1, CancellationToken.None);

        options.Schema = _liveSchema;
        configure?.Invoke(options);
        var client = new SnowflakeSqlApiClient(_http, options, credentials, TimeProvider.System, TestMeters.Shared, NullLogger<SnowflakeSqlApiClient>.Instance);
        Provider = new SnowflakeWarehouseProvider(client, options, Time);
    }

    public async ValueTask DisposeAsync()
    {
        if (_liveAdmin is not null && _liveSchema is not null)
        {
            await _liveAdmin.ExecuteAsync("DROP SCHEMA IF EXISTS IDENTIFIER(?)", [SnowflakeValues.Bind(_liveSchema)], 1, CancellationToken.None);
        }

        foreach (var other in _others)
        {
            await other.DisposeAsync();
        }

        await Provider.DisposeAsync();
        _http?.Dispose();
        if (SnowflakeDouble is not null)
        {
            var violations = SnowflakeDouble.Violations;
            await SnowflakeDouble.DisposeAsync();
            // Every contract test also checks that the provider spoke the API as Snowflake requires.
            Assert.Empty(violations);
        }

        _directory.Dispose();
    }

    private sealed class DisposeAction(Action action) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            action();
            return ValueTask.CompletedTask;
        }
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
