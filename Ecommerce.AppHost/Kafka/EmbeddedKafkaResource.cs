using System.Globalization;

namespace Ecommerce.AppHost.Kafka;

/// <summary>The embedded broker as an Aspire resource: it has a state on the dashboard and a connection string.</summary>
public sealed class EmbeddedKafkaResource(string name, int port) : Resource(name), IResourceWithConnectionString
{
    public int Port { get; } = port;

    /// <summary>Set once the broker has started; the AppHost disposes it when it stops.</summary>
    public EmbeddedKafkaBroker? Broker { get; internal set; }

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}");
}
