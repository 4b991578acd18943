using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Ecommerce.ServiceDefaults.Messaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Ecommerce.Hosting.Kafka;

public static class KafkaHostingExtensions
{
    private const string ContainerImage = "apache/kafka";
    private const string ContainerTag = "4.1.0";
    private const string UiImage = "kafbat/kafka-ui";
    private const string UiTag = "v1.4.2";

    /// <summary>
    /// The broker's listener for other containers of the app. Its clients' listener advertises
    /// <c>localhost:&lt;port&gt;</c>, which inside another container is that container itself; this one advertises
    /// the broker's name, which resolves on the container network the orchestrator puts the app's containers on.
    /// </summary>
    private const string ContainerNetworkPort = "9094";

    /// <summary>
    /// Adds the Kafka cluster named <paramref name="name"/> in the mode <c>Kafka:Mode</c> asks for, and returns
    /// it as a resource with a connection string that services take with <c>WithReference</c>. The embedded broker
    /// creates <paramref name="topics"/> up front, so their partition count is known; a container broker creates
    /// topics on first use with the same count; an external cluster's topics are its operators' business.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddKafkaBroker(
        this IDistributedApplicationBuilder builder, string name, IEnumerable<string> topics)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var options = KafkaHostOptions.FromConfiguration(builder.Configuration);
        var (mode, why) = ChooseMode(options.Mode);
        builder.Eventing.Subscribe<BeforeStartEvent>((evt, _) =>
        {
            var logger = evt.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Ecommerce.Hosting.Kafka");
            var modeName = mode.ToString().ToLowerInvariant();
            logger.LogInformation("Kafka mode: {Mode} ({Reason})", modeName, why);
            if (options.Ui && mode != KafkaMode.Container)
            {
                logger.LogWarning(
                    "Kafka:Ui is true but the broker is {Mode}, not a container: the Kafka UI runs only beside the container broker (Kafka:Mode=container)",
                    modeName);
            }

            return Task.CompletedTask;
        });

        return mode switch
        {
            KafkaMode.Container => AddContainer(builder, name, options),
            KafkaMode.Embedded => AddEmbedded(builder, name, options, topics.Distinct(StringComparer.Ordinal).ToArray()),
            _ => AddExternal(builder, name),
        };
    }

    private static (KafkaMode Mode, string Reason) ChooseMode(KafkaMode requested)
    {
        if (requested != KafkaMode.Auto)
        {
            return (requested, "set by Kafka:Mode");
        }

        return ContainerRuntimeProbe.IsAvailable(out var reason)
            ? (KafkaMode.Container, $"Kafka:Mode is auto and the {reason}")
            : (KafkaMode.Embedded, $"Kafka:Mode is auto and {reason}, so the broker runs in-process");
    }

    private static IResourceBuilder<IResourceWithConnectionString> AddEmbedded(
        IDistributedApplicationBuilder builder, string name, KafkaHostOptions options, IReadOnlyList<string> topicNames)
    {
        // The connection string must be known before anything starts, so a port of 0 is settled here.
        var port = options.Port == 0 ? FreeLoopbackPort() : options.Port;
        var resource = new EmbeddedKafkaResource(name, port, topicNames);
        var topics = topicNames.ToDictionary(topic => topic, _ => options.Partitions);

        // Disposed with the AppHost's services, so the broker lives exactly as long as the app.
        builder.Services.AddSingleton(_ => new EmbeddedBrokerLifetime(resource));

        var healthCheckKey = AddMetadataHealthCheck(builder, name, $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        var kafka = builder.AddResource(resource)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "Kafka (embedded)",
                State = KnownResourceStates.NotStarted,
                Properties = [new("kafka.port", port), new("kafka.partitions", options.Partitions)],
            })
            .WithHealthCheck(healthCheckKey)
            .OnInitializeResource(async (broker, evt, cancellationToken) =>
            {
                evt.Services.GetRequiredService<EmbeddedBrokerLifetime>(); // Make sure disposal is tracked.
                await evt.Eventing.PublishAsync(new BeforeResourceStartedEvent(broker, evt.Services), cancellationToken);
                await evt.Notifications.PublishUpdateAsync(broker, s => s with { State = KnownResourceStates.Starting });
                try
                {
                    broker.Broker = EmbeddedKafkaBroker.Start(port, topics);
                }
                catch (Exception ex)
                {
                    evt.Logger.LogError(ex, "The embedded Kafka broker could not start on 127.0.0.1:{Port}", port);
                    await evt.Notifications.PublishUpdateAsync(broker, s => s with { State = KnownResourceStates.FailedToStart });
                    return;
                }

                evt.Logger.LogInformation(
                    "Embedded Kafka broker listening on {BootstrapServers}; topics {Topics} with {Partitions} partitions each",
                    broker.Broker.BootstrapServers, string.Join(", ", topics.Keys), options.Partitions);
                await evt.Eventing.PublishAsync(new ConnectionStringAvailableEvent(broker, evt.Services), cancellationToken);
                await evt.Notifications.PublishUpdateAsync(broker, s => s with
                {
                    State = KnownResourceStates.Running,
                    StartTimeStamp = DateTime.UtcNow,
                });
            });

        return builder.CreateResourceBuilder<IResourceWithConnectionString>(kafka.Resource);
    }

    private static IResourceBuilder<IResourceWithConnectionString> AddContainer(
        IDistributedApplicationBuilder builder, string name, KafkaHostOptions options)
    {
        var port = options.Port == 0 ? FreeLoopbackPort() : options.Port;
        var healthCheckKey = AddMetadataHealthCheck(builder, name, $"localhost:{port.ToString(CultureInfo.InvariantCulture)}");
        var kafka = builder.AddResource(new KafkaContainerResource(name))
            .WithImage(ContainerImage, ContainerTag)
            .WithImageRegistry("docker.io")
            // Not proxied: the broker advertises the host port itself, so clients reach it directly.
            .WithEndpoint(port: port, targetPort: 9092, name: KafkaContainerResource.EndpointName, isProxied: false)
            .WithEnvironment("KAFKA_NODE_ID", "1")
            .WithEnvironment("KAFKA_PROCESS_ROLES", "broker,controller")
            .WithEnvironment("KAFKA_LISTENERS", $"PLAINTEXT://:9092,CONTROLLER://:9093,INTERNAL://:{ContainerNetworkPort}")
            .WithEnvironment("KAFKA_ADVERTISED_LISTENERS",
                $"PLAINTEXT://localhost:{port.ToString(CultureInfo.InvariantCulture)},INTERNAL://{name}:{ContainerNetworkPort}")
            .WithEnvironment("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
            .WithEnvironment("KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT")
            .WithEnvironment("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT")
            .WithEnvironment("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
            .WithEnvironment("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
            .WithEnvironment("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            .WithEnvironment("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
            .WithEnvironment("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
            // The consumer group protocol's session (KIP-848): how long a crashed member keeps its partitions. Kafka's
            // 45 s default (and minimum) would stop ingestion from them for most of a minute; 6 s as on the embedded broker.
            .WithEnvironment("KAFKA_GROUP_CONSUMER_MIN_SESSION_TIMEOUT_MS", EmbeddedKafkaBroker.SessionTimeoutMs.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("KAFKA_GROUP_CONSUMER_SESSION_TIMEOUT_MS", EmbeddedKafkaBroker.SessionTimeoutMs.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("KAFKA_GROUP_CONSUMER_MIN_HEARTBEAT_INTERVAL_MS", EmbeddedKafkaBroker.HeartbeatIntervalMs.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("KAFKA_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS", EmbeddedKafkaBroker.HeartbeatIntervalMs.ToString(CultureInfo.InvariantCulture))
            // Topics are created on first use with the same partition count the embedded broker uses.
            .WithEnvironment("KAFKA_NUM_PARTITIONS", options.Partitions.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("KAFKA_LOG_DIRS", "/var/lib/kafka/data")
            .WithHealthCheck(healthCheckKey);

        if (options.DataVolume)
        {
            kafka.WithVolume("ecommerce-kafka-data", "/var/lib/kafka/data");
        }

        if (options.Ui)
        {
            AddUi(builder, kafka);
        }

        return builder.CreateResourceBuilder<IResourceWithConnectionString>(kafka.Resource);
    }

    /// <summary>
    /// A kafbat Kafka UI container (topics, messages, consumer groups and their lag) nested under the broker on the
    /// dashboard. It is a local tool, so it is left out of any deployment manifest.
    /// </summary>
    private static void AddUi(IDistributedApplicationBuilder builder, IResourceBuilder<KafkaContainerResource> kafka)
    {
        var name = kafka.Resource.Name;
        builder.AddContainer($"{name}-ui", UiImage, UiTag)
            .WithImageRegistry("docker.io")
            .WithHttpEndpoint(targetPort: 8080, name: "http")
            .WithUrlForEndpoint("http", url => url.DisplayText = "Kafka UI")
            .WithEnvironment("KAFKA_CLUSTERS_0_NAME", name)
            .WithEnvironment("KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS", $"{name}:{ContainerNetworkPort}")
            .WithParentRelationship(kafka)
            .WaitFor(kafka)
            .ExcludeFromManifest();
    }

    private static IResourceBuilder<IResourceWithConnectionString> AddExternal(IDistributedApplicationBuilder builder, string name)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(name)))
        {
            throw new InvalidOperationException(
                $"Kafka:Mode is external but ConnectionStrings:{name} is not set. Give the bootstrap servers, " +
                $"e.g. --ConnectionStrings:{name}=broker1:9092 or the environment variable ConnectionStrings__{name}.");
        }

        return builder.AddConnectionString(name);
    }

    private static string AddMetadataHealthCheck(IDistributedApplicationBuilder builder, string name, string bootstrapServers)
    {
        // WaitFor(kafka) waits for this: a broker that answers a metadata request, not merely a started process.
        var key = $"{name}-metadata";
        builder.Services.AddKeyedSingleton(key, (_, _) => new KafkaHealthCheck(bootstrapServers));
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            key,
            sp => sp.GetRequiredKeyedService<KafkaHealthCheck>(key),
            failureStatus: null,
            tags: null));
        return key;
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private sealed class EmbeddedBrokerLifetime(EmbeddedKafkaResource resource) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => resource.Broker?.DisposeAsync() ?? ValueTask.CompletedTask;
    }
}
