using DuckDB.NET.Data;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Benchmarks.Scenarios;

/// <summary>
/// The pipeline again, into a warehouse that already holds many orders: ingestion checks every batch against the
/// fact table, so this shows how throughput depends on the table's size.
/// </summary>
public static class LargeWarehouse
{
    public static async Task<double> RunAsync(BenchContext context, int existingOrders)
    {
        var warehouse = context.NewWarehouse();
        await PrefillAsync(warehouse, existingOrders);

        await using var broker = BenchContext.StartBroker();
        await BenchContext.FillAsync(broker, context.Orders);
        await using var consumer = BenchContext.StartConsumer(broker, warehouse);
        var (rate, _) = await BenchContext.WaitForIngestAsync(consumer, context.Orders, TimeSpan.FromMinutes(10));
        await consumer.StopAsync(TimeSpan.FromSeconds(30));
        return rate;
    }

    /// <summary>Creates the schema with the service's own scripts and fills FACT_ORDERS with synthetic past orders.</summary>
    private static async Task PrefillAsync(string path, int orders)
    {
        await using (var provider = new DuckDbWarehouseProvider($"Data Source={path}"))
        {
            await new StarSchemaWriter(provider, TimeProvider.System).EnsureSchemaAsync(CancellationToken.None);
        }

        using var connection = new DuckDBConnection($"Data Source={path}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO FACT_ORDERS
            SELECT uuid()::VARCHAR, TIMESTAMP '2024-01-01' + to_seconds(i * 20), DATE '2024-01-01' + (i * 20 // 86400)::INTEGER,
                   'C' || (i % 10000), 0, 'P' || (i % 64), 10.00, 1, 10.00, 'prefill', 'orders', 0, i, now()
            FROM range({orders}) AS t(i)
            """;
        command.ExecuteNonQuery();
    }
}
