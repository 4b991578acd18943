using System.Diagnostics.Metrics;

namespace Ecommerce.Producer.Simulation;

/// <summary>The simulator's instruments (meter <c>Ecommerce.Producer</c>) and the totals behind its status endpoint.</summary>
public sealed class SimulatorMetrics
{
    public const string MeterName = "Ecommerce.Producer";

    private readonly Meter _meter;
    private readonly Counter<long> _produced;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _invalid;
    private readonly Histogram<double> _deliveryLatency;
    private long _sent;
    private long _delivered;
    private long _failedTotal;
    private long _invalidTotal;

    public SimulatorMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(MeterName); // Owned, and disposed, by the factory.
        _produced = _meter.CreateCounter<long>("ecommerce.orders.produced", "{order}", "Orders the broker acknowledged.");
        _failed = _meter.CreateCounter<long>("ecommerce.orders.failed", "{order}", "Orders the broker did not acknowledge.");
        _invalid = _meter.CreateCounter<long>("ecommerce.orders.invalid_sent", "{event}", "Deliberately invalid events sent.");
        _deliveryLatency = _meter.CreateHistogram<double>(
            "ecommerce.orders.delivery.duration", "s", "Time from handing an order to the client to the broker's acknowledgement.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
    }

    public long Sent => Interlocked.Read(ref _sent);
    public long Delivered => Interlocked.Read(ref _delivered);
    public long Failed => Interlocked.Read(ref _failedTotal);
    public long Invalid => Interlocked.Read(ref _invalidTotal);

    public void RecordSent(EventKind kind)
    {
        Interlocked.Increment(ref _sent);
        if (kind != EventKind.Valid)
        {
            Interlocked.Increment(ref _invalidTotal);
            _invalid.Add(1, new KeyValuePair<string, object?>("ecommerce.event.kind", kind.ToString()));
        }
    }

    public void RecordDelivered(TimeSpan latency)
    {
        Interlocked.Increment(ref _delivered);
        _produced.Add(1);
        _deliveryLatency.Record(latency.TotalSeconds);
    }

    public void RecordFailed(string reason)
    {
        Interlocked.Increment(ref _failedTotal);
        _failed.Add(1, new KeyValuePair<string, object?>("error.type", reason));
    }
}
