using System.Diagnostics;
using System.Security.Cryptography;
using DuckDB.NET.Data;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Benchmarks.Scenarios;

public sealed record ScaleResult(long ExistingOrders, double PipelineRate, double PeakMemoryMb, double CpuSecondsPerMillion, double PrefillSeconds, bool PrefillCached, double SecondsToFirstBatch)
{
    /// <summary>The same, for a second start after the first one stopped cleanly (the stored ids then kept beside the file).</summary>
    public double? SecondsToFirstBatchAfterCleanStop { get; init; }
}

/// <summary>
/// The pipeline again, into a warehouse that already holds a year or more of orders: shows how throughput and memory
/// depend on the size of the fact table. The pre-filled file is built once per size and schema, and kept in a
/// scratch folder (<c>ECOMMERCE_BENCH_CACHE</c>, by default under the temporary folder; never in the repository);
/// each run works on a copy.
/// </summary>
public static class LargeWarehouse
{
    public static async Task<ScaleResult> RunAsync(BenchContext context, long existingOrders)
    {
        var warehouse = context.NewWarehouse();
        var clock = Stopwatch.StartNew();
        var cached = await PrefilledAsync(existingOrders);
        File.Copy(cached.Path, warehouse);
        var prefill = clock.Elapsed.TotalSeconds;

        await using var broker = BenchContext.StartBroker();
        await BenchContext.FillAsync(broker, context.Orders);
        var started = Stopwatch.StartNew();
        await using var consumer = BenchContext.StartConsumer(broker, warehouse);
        while (await BenchContext.IngestedAsync(consumer) == 0 && started.Elapsed < TimeSpan.FromMinutes(10))
        {
            await Task.Delay(50);
        }

        var firstBatch = started.Elapsed.TotalSeconds;
        var (rate, cpu) = await BenchContext.WaitForIngestAsync(consumer, context.Orders, TimeSpan.FromMinutes(20));
        var peak = BenchContext.Resources(consumer.Id).PeakMegabytes;
        await consumer.StopAsync(TimeSpan.FromSeconds(60));

        // A restart (a deploy): the first run's clean stop kept the stored ids beside the file.
        await BenchContext.FillAsync(broker, 10_000, seed: 2); // Other order ids than the first run's.
        var restarted = Stopwatch.StartNew();
        await using var again = BenchContext.StartConsumer(broker, warehouse);
        while (await BenchContext.IngestedAsync(again) == 0 && restarted.Elapsed < TimeSpan.FromMinutes(10))
        {
            await Task.Delay(50);
        }

        var firstBatchAgain = restarted.Elapsed.TotalSeconds;
        await again.StopAsync(TimeSpan.FromSeconds(60));
        File.Delete(warehouse);
        File.Delete(warehouse + ".order-ids");
        return new ScaleResult(existingOrders, rate, peak, cpu / context.Orders * 1_000_000, prefill, cached.WasCached, firstBatch)
        {
            SecondsToFirstBatchAfterCleanStop = firstBatchAgain,
        };
    }

    /// <summary>The cached pre-filled warehouse of this size and schema, built first if missing.</summary>
    private static async Task<(string Path, bool WasCached)> PrefilledAsync(long orders)
    {
        var folder = Environment.GetEnvironmentVariable("ECOMMERCE_BENCH_CACHE") is { Length: > 0 } configured
            ? configured
            : System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ecommerce-bench-cache");
        Directory.CreateDirectory(folder);

        // The schema's text is part of the name: a changed schema builds a new file.
        var schema = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Concat(SqlScripts.Schema()) + PrefillSql(0))))[..12];
        var path = System.IO.Path.Combine(folder, $"warehouse-{orders}-{schema}.duckdb");
        if (File.Exists(path))
        {
            return (path, true);
        }

        var building = path + ".building";
        File.Delete(building);
        File.Delete(building + ".wal");
        await using (var provider = new DuckDbWarehouseProvider($"Data Source={building}"))
        {
            await new StarSchemaWriter(provider, TimeProvider.System).EnsureSchemaAsync(CancellationToken.None);
        }

        using (var connection = new DuckDBConnection($"Data Source={building}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = PrefillSql(orders);
            command.CommandTimeout = 0;
            command.ExecuteNonQuery();
            command.CommandText = "CHECKPOINT";
            command.ExecuteNonQuery();
        }

        File.Move(building, path);
        return (path, false);
    }

    /// <summary>
    /// A year of history for the simulator's 10,000 customers (ids C000000 to C009999) and 60 products, in time order
    /// and ending before the simulated orders begin: one customer version each, the calendar, consistent counts.
    /// </summary>
    private static string PrefillSql(long orders) => $"""
        INSERT INTO FACT_ORDERS
        SELECT md5(i::VARCHAR)::UUID::VARCHAR,
               TIMESTAMP '2025-11-01' + to_microseconds(i * (31536000000000 // {Math.Max(1, orders)})),
               CAST(TIMESTAMP '2025-11-01' + to_microseconds(i * (31536000000000 // {Math.Max(1, orders)})) AS DATE),
               'C' || lpad(((i * 7919) % 10000)::VARCHAR, 6, '0'), 1000000 + (i * 7919) % 10000,
               'P' || lpad((i % 60 + 1)::VARCHAR, 4, '0'), 10.00 + (i % 90), 1 + (i % 3), (10.00 + (i % 90)) * (1 + (i % 3)),
               substr(md5('digest' || i::VARCHAR), 1, 32), 'orders-history', 0, i, TIMESTAMP '2026-11-01', NULL
        FROM range({orders}) AS t(i);
        INSERT INTO DIM_CUSTOMER
        SELECT CUSTOMER_SK, CUSTOMER_ID, 'Customer ' || CUSTOMER_ID, 'North', MIN(ORDER_TIMESTAMP), NULL, TRUE, MAX(ORDER_TIMESTAMP), COUNT(*), NULL
        FROM FACT_ORDERS GROUP BY CUSTOMER_SK, CUSTOMER_ID;
        INSERT INTO DIM_PRODUCT
        SELECT PRODUCT_ID, 'Product ' || PRODUCT_ID, 'Home', MAX(ORDER_TIMESTAMP), NULL FROM FACT_ORDERS GROUP BY PRODUCT_ID;
        INSERT INTO DIM_DATE
        SELECT d, day(d), month(d), year(d), quarter(d), isodow(d), dayname(d), monthname(d), isodow(d) >= 6
        FROM (SELECT DISTINCT ORDER_DATE AS d FROM FACT_ORDERS);
        """;
}
