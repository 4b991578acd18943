using Confluent.Kafka;

namespace Ecommerce.ServiceDefaults.Messaging;

public sealed class KafkaConsumerSettings : KafkaClientSettings
{
    /// <summary>Any librdkafka consumer property, bound from the <c>Config</c> sub-section.</summary>
    public ConsumerConfig Config { get; } = new();

    internal override ClientConfig ClientConfig => Config;
}
