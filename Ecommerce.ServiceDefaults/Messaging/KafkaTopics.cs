namespace Ecommerce.ServiceDefaults.Messaging;

/// <summary>
/// The pipeline's topics, named once: the defaults of <c>Simulator:Topic</c>, <c>Ingestion:Topic</c> and
/// <c>Ingestion:DeadLetterTopic</c>, and what the AppHost creates when those settings are left alone.
/// </summary>
public static class KafkaTopics
{
    /// <summary>Orders, from the simulator (or any producer) to the ingestion service.</summary>
    public const string Orders = "orders";

    /// <summary>Events the ingestion service refused, with the reason in their headers.</summary>
    public const string DeadLetters = "orders.dlq";

    /// <summary>Both, for whoever creates topics up front.</summary>
    public static IReadOnlyList<string> All { get; } = [Orders, DeadLetters];
}
