namespace Ecommerce.Hosting.Kafka;

/// <summary>How the AppHost provides Kafka, read from the <c>Kafka</c> configuration section.</summary>
public enum KafkaMode
{
    /// <summary>A container when a container runtime answers, otherwise the embedded broker.</summary>
    Auto,
    /// <summary>The official <c>apache/kafka</c> image, single node in KRaft mode.</summary>
    Container,
    /// <summary>librdkafka's mock cluster hosted in the AppHost process: no container, no JVM.</summary>
    Embedded,
    /// <summary>An existing cluster given as <c>ConnectionStrings:kafka</c>.</summary>
    External,
}
