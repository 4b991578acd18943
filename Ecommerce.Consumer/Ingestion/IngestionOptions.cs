namespace Ecommerce.Consumer.Ingestion;

/// <summary>The <c>Ingestion</c> configuration section.</summary>
public sealed class IngestionOptions
{
    public const string SectionName = "Ingestion";

    /// <summary>Consumer group of the ingestion service.</summary>
    public string GroupId { get; set; } = "ecommerce-ingestion";

    /// <summary>Topic the orders come from.</summary>
    public string Topic { get; set; } = "orders";

    /// <summary>Topic invalid events go to, with the reason in their headers.</summary>
    public string DeadLetterTopic { get; set; } = "orders.dlq";

    /// <summary>A batch is written when it holds this many events...</summary>
    public int MaxBatchSize { get; set; } = 5_000;

    /// <summary>...or when its first event has waited this long, whichever comes first.</summary>
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Consumers this process runs in the group. Partitions are shared among all consumers of the group, in this
    /// process and in others; with DuckDB (one writing process per file) this is how ingestion runs in parallel.
    /// </summary>
    public int Consumers { get; set; } = 1;

    public void Validate()
    {
        if (Consumers is < 1 or > 64)
        {
            throw new InvalidOperationException($"{SectionName}:Consumers is {Consumers}; expected 1 to 64.");
        }

        if (string.IsNullOrWhiteSpace(GroupId))
        {
            throw new InvalidOperationException($"{SectionName}:GroupId is empty; expected a consumer group name.");
        }

        if (MaxBatchSize < 1)
        {
            throw new InvalidOperationException($"{SectionName}:MaxBatchSize is {MaxBatchSize}; expected 1 or more.");
        }

        if (MaxBatchDelay <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{SectionName}:MaxBatchDelay is {MaxBatchDelay}; expected a positive duration such as 00:00:00.200.");
        }
    }
}
