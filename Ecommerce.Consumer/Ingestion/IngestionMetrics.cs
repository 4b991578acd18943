using System.Diagnostics;
using System.Diagnostics.Metrics;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>The ingestion service's instruments (meter <c>Ecommerce.Consumer</c>).</summary>
public sealed class IngestionMetrics
{
    public const string MeterName = "Ecommerce.Consumer";
    public const string OutcomeTag = "ecommerce.ingestion.outcome";
    public const string StageTag = "ecommerce.ingestion.stage";

    private readonly Meter _meter;
    private readonly Counter<long> _events;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _writeDuration;
    private readonly Histogram<double> _endToEnd;
    private readonly Counter<double> _revenue;
    private readonly Counter<long> _units;
    private readonly Counter<long> _gap;

    public IngestionMetrics(IngestionStatus status, IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(MeterName); // Owned, and disposed, by the factory.
        _events = _meter.CreateCounter<long>("ecommerce.ingestion.events", "{event}",
            "Events handled, by outcome: ingested, duplicate, conflict or dead_lettered.");
        _batchSize = _meter.CreateHistogram<int>("ecommerce.ingestion.batch.size", "{event}", "Events per written batch.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 25000] });
        _writeDuration = _meter.CreateHistogram<double>("ecommerce.ingestion.batch.duration", "s",
            "Time to write one batch to the warehouse, transaction included.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _endToEnd = _meter.CreateHistogram<double>("ecommerce.ingestion.latency", "s",
            "From an order's order_timestamp to the commit of the batch that stored it.",
            // Fine steps where a healthy pipeline lives (a batch delay of 200 ms plus a write), coarse ones beyond.
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300] });
        _revenue = _meter.CreateCounter<double>("ecommerce.sales.revenue", "{currency}", "Revenue of ingested orders, by category.");
        _units = _meter.CreateCounter<long>("ecommerce.sales.units", "{unit}", "Units sold in ingested orders, by category.");
        _gap = _meter.CreateCounter<long>("ecommerce.ingestion.gap", "{event}",
            "Events deleted upstream (by the topic's retention) before ingestion could read them, by partition.");
        _meter.CreateObservableGauge("ecommerce.ingestion.lag", () => status.Partitions.Select(p =>
                new Measurement<long>(p.Lag ?? 0, new KeyValuePair<string, object?>("messaging.destination.partition.id", p.Partition))),
            "{event}", "Events in the partition not yet written to the warehouse.");
        if (CpuByStage.IsSupported)
        {
            _meter.CreateObservableCounter("ecommerce.ingestion.cpu.time", () => CpuByStage.Seconds().Select(s =>
                    new Measurement<double>(s.Value, new KeyValuePair<string, object?>(StageTag, System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(s.Key.ToString())))),
                "s", "CPU time spent in each stage of ingestion (see CpuByStage for how each is measured).");
        }
    }

    public void RecordGap(int partition, long lost) =>
        _gap.Add(lost, new KeyValuePair<string, object?>("messaging.destination.partition.id", partition));

    public void RecordEvents(string outcome, int count, string? errorType = null)
    {
        if (count == 0)
        {
            return;
        }

        var tags = new TagList { { OutcomeTag, outcome } };
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        _events.Add(count, tags);
    }

    public void RecordBatch(int size, TimeSpan writeDuration)
    {
        _batchSize.Record(size);
        _writeDuration.Record(writeDuration.TotalSeconds);
    }

    public void RecordOrder(TimeSpan endToEnd, string category, decimal revenue, int units)
    {
        _endToEnd.Record(Math.Max(0, endToEnd.TotalSeconds));
        var tag = new KeyValuePair<string, object?>("ecommerce.product.category", category);
        _revenue.Add((double)revenue, tag);
        _units.Add(units, tag);
    }
}
