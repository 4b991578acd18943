using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Benchmarks.Scenarios;

public sealed record LatencyResult(double Rate, int Orders, double P50Ms, double P95Ms, double P99Ms, double MaxMs);

/// <summary>
/// End-to-end latency at a fixed order rate: the simulator stamps each order with the time it creates it, the
/// ingestion service stamps INGESTED_AT as it writes the batch; the difference, per order, is read back from the
/// warehouse. The first two seconds (process warm-up) are left out.
/// </summary>
public static class Latency
{
    public static async Task<LatencyResult> RunAsync(BenchContext context, double rate, TimeSpan duration, int maxBatchSize, TimeSpan maxBatchDelay)
    {
        await using var broker = BenchContext.StartBroker();
        var warehouse = context.NewWarehouse();
        var count = (long)(rate * duration.TotalSeconds);
        await using (var consumer = BenchContext.StartConsumer(broker, warehouse, maxBatchSize, maxBatchDelay))
        {
            await BenchContext.IngestAtRateAsync(broker, consumer, count, rate, TimeSpan.FromMinutes(2));
        }

        await using var provider = new DuckDbWarehouseProvider($"Data Source={warehouse}");
        var rows = await provider.QueryAsync(new SqlStatement("""
            WITH timed AS (
                SELECT ORDER_TIMESTAMP, epoch_ms(INGESTED_AT) - epoch_ms(ORDER_TIMESTAMP) AS MS FROM FACT_ORDERS),
            steady AS (
                SELECT MS FROM timed WHERE ORDER_TIMESTAMP >= (SELECT MIN(ORDER_TIMESTAMP) FROM timed) + INTERVAL 2 SECOND)
            SELECT COUNT(*), quantile_cont(MS, 0.5), quantile_cont(MS, 0.95), quantile_cont(MS, 0.99), MAX(MS) FROM steady
            """), CancellationToken.None);
        var r = rows[0];
        return new LatencyResult(rate, Convert.ToInt32(r[0], System.Globalization.CultureInfo.InvariantCulture),
            Convert.ToDouble(r[1], System.Globalization.CultureInfo.InvariantCulture), Convert.ToDouble(r[2], System.Globalization.CultureInfo.InvariantCulture),
            Convert.ToDouble(r[3], System.Globalization.CultureInfo.InvariantCulture), Convert.ToDouble(r[4], System.Globalization.CultureInfo.InvariantCulture));
    }
}
