using Confluent.Kafka;

namespace Ecommerce.ServiceDefaults.Messaging;

/// <summary>
/// Settings shared by the Kafka producer and consumer registrations. They bind from
/// <c>Aspire:Confluent:Kafka:Producer</c> / <c>Aspire:Confluent:Kafka:Consumer</c>, the sections users of
/// Aspire's own Kafka integration already know; the bootstrap servers come from <c>ConnectionStrings:{name}</c>.
/// </summary>
public abstract class KafkaClientSettings
{
    /// <summary>Bootstrap servers, e.g. <c>127.0.0.1:9092</c>. Normally set by the AppHost as a connection string.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Leave out the readiness check that asks the cluster for its metadata.</summary>
    public bool DisableHealthChecks { get; set; }

    /// <summary>Leave out the client metrics derived from librdkafka's statistics.</summary>
    public bool DisableMetrics { get; set; }

    /// <summary>How often librdkafka reports its statistics (the source of the client metrics).</summary>
    public int StatisticsIntervalMs { get; set; } = 5_000;

    internal abstract ClientConfig ClientConfig { get; }
}
