using System.Globalization;

namespace Ecommerce.Hosting.Kafka;

/// <summary>The embedded broker as an Aspire resource: it has a state on the dashboard and a connection string.</summary>
public sealed class EmbeddedKafkaResource(string name, int port, IReadOnlyList<string> topics) : Resource(name), IResourceWithConnectionString
{
    public int Port { get; } = port;

    /// <summary>The topics the broker creates when it starts (with <c>Kafka:Partitions</c> partitions each).</summary>
    public IReadOnlyList<string> Topics { get; } = topics;

    /// <summary>Set once the broker has started; the AppHost disposes it when it stops.</summary>
    public EmbeddedKafkaBroker? Broker { get; internal set; }

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}");
}
