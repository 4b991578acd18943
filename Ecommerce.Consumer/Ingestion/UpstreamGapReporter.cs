namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// Says loudly that events were deleted upstream (by the topic's retention) before ingestion could read them: an
/// error in the log naming the partition and offsets, the <c>ecommerce.ingestion.gap</c> counter, the status
/// endpoint's <c>gaps</c>, and a Degraded <c>/health</c>. Nothing can bring those events back; nobody should learn
/// of the loss from the analytics.
/// </summary>
public sealed partial class UpstreamGapReporter(IngestionStatus status, IngestionMetrics metrics, TimeProvider time, ILogger<UpstreamGapReporter> logger)
{
    /// <summary>Reports that offsets [<paramref name="from"/>, <paramref name="to"/>) of a partition will never be read.</summary>
    public void Report(string topic, int partition, long from, long to)
    {
        if (to <= from)
        {
            return;
        }

        status.RecordGap(new UpstreamGap(topic, partition, from, to, time.GetUtcNow()));
        metrics.RecordGap(partition, to - from);
        LogGap(topic, partition, from, to - 1, to - from, to);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Partition {Topic}[{Partition}]: offsets {From} to {Last} were deleted upstream (retention) before they could be read; {Lost} events are lost to the warehouse. Reading on from offset {Next}.")]
    private partial void LogGap(string topic, int partition, long from, long last, long lost, long next);
}
