namespace Ecommerce.Consumer.Ingestion;

/// <summary>Events deleted upstream (by retention) before ingestion read them: offsets [From, To) of a partition.</summary>
public sealed record UpstreamGap(string Topic, int Partition, long From, long To, DateTimeOffset ReportedAt)
{
    public long Lost => To - From;
}
