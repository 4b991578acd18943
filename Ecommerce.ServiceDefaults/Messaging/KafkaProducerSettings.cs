using Confluent.Kafka;

namespace Ecommerce.ServiceDefaults.Messaging;

public sealed class KafkaProducerSettings : KafkaClientSettings
{
    /// <summary>Any librdkafka producer property, bound from the <c>Config</c> sub-section.</summary>
    public ProducerConfig Config { get; } = new();

    internal override ClientConfig ClientConfig => Config;
}
