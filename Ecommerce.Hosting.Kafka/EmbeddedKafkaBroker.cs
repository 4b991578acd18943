using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ecommerce.Hosting.Kafka;

/// <summary>
/// A Kafka-protocol broker without a container or a JVM: librdkafka's mock cluster, hosted in this process,
/// reachable on a fixed loopback port. Real clients (Confluent.Kafka, kcat) cannot tell it from a broker, but it
/// keeps everything in memory and retains only about 5 MiB per partition, so it is for development and tests.
/// </summary>
public sealed class EmbeddedKafkaBroker : IAsyncDisposable
{
    /// <summary>The id of the single broker of the cluster (librdkafka numbers mock brokers from 1).</summary>
    public const int BrokerId = 1;

    /// <summary>How long a consumer group member that stops heartbeating keeps its partitions.</summary>
    public const int SessionTimeoutMs = 6_000;

    /// <summary>How often consumer group members heartbeat (the consumer group protocol's, set by the broker).</summary>
    public const int HeartbeatIntervalMs = 1_000;

    private readonly nint _handle;
    private readonly nint _cluster;
    private readonly TcpForwarder _forwarder;
    private int _disposed;

    private EmbeddedKafkaBroker(nint handle, nint cluster, TcpForwarder forwarder)
    {
        _handle = handle;
        _cluster = cluster;
        _forwarder = forwarder;
    }

    /// <summary>The address clients use, e.g. <c>127.0.0.1:9092</c>.</summary>
    public string BootstrapServers => $"127.0.0.1:{Port}";

    public int Port => _forwarder.Port;

    /// <summary>
    /// Starts the broker on <paramref name="port"/> (0 picks a free one) and creates <paramref name="topics"/> with
    /// the given partition counts, so that partitioning never depends on which client happened to write first.
    /// </summary>
    public static EmbeddedKafkaBroker Start(int port, IReadOnlyDictionary<string, int> topics)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        var handle = CreateHostHandle();
        var cluster = LibrdkafkaMock.ClusterNew(handle, brokerCount: 1);
        if (cluster == 0)
        {
            LibrdkafkaMock.Destroy(handle);
            throw new InvalidOperationException("librdkafka could not create its mock cluster.");
        }

        TcpForwarder? forwarder = null;
        try
        {
            LibrdkafkaMock.SetControllerId(cluster, BrokerId);
            // A consumer group would otherwise wait 3 s before its first assignment.
            LibrdkafkaMock.GroupInitialRebalanceDelayMs(cluster, 100);
            // The consumer group protocol's session (KIP-848's group.consumer.session.timeout.ms, 30 s in the mock, 45 s
            // on Apache Kafka): how long a crashed member keeps its partitions. Members heartbeat every second.
            LibrdkafkaMock.SetGroupConsumerSessionTimeoutMs(cluster, SessionTimeoutMs);
            LibrdkafkaMock.SetGroupConsumerHeartbeatIntervalMs(cluster, HeartbeatIntervalMs);

            var bootstraps = Marshal.PtrToStringUTF8(LibrdkafkaMock.ClusterBootstraps(cluster))
                ?? throw new InvalidOperationException("The mock cluster reported no listener.");
            forwarder = new TcpForwarder(port, ParseEndpoint(bootstraps.Split(',')[0]),
                clientCloseLinger: TimeSpan.FromMilliseconds(SessionTimeoutMs + 2_000));
            // Clients learn broker addresses from metadata: advertise the forwarder, not the ephemeral listener.
            LibrdkafkaMock.BrokerSetHostPort(cluster, BrokerId, "127.0.0.1", forwarder.Port);

            foreach (var (topic, partitions) in topics)
            {
                var error = LibrdkafkaMock.TopicCreate(cluster, topic, partitions, replicationFactor: 1);
                if (error != 0)
                {
                    throw new InvalidOperationException($"Could not create topic '{topic}': {LibrdkafkaMock.Describe(error)}.");
                }
            }

            return new EmbeddedKafkaBroker(handle, cluster, forwarder);
        }
        catch
        {
            forwarder?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            LibrdkafkaMock.ClusterDestroy(cluster);
            LibrdkafkaMock.Destroy(handle);
            throw;
        }
    }

    /// <summary>Takes the broker down (connections are closed and refused) until <see cref="BringUp"/>.</summary>
    public void TakeDown() => Check(LibrdkafkaMock.BrokerSetDown(_cluster, BrokerId), "take the broker down");

    /// <summary>
    /// Answers from now on like a broker older than Kafka 4.0, which does not know the consumer group protocol (its
    /// ConsumerGroupHeartbeat request). Clients learn this when they connect, so call it before any does.
    /// </summary>
    public void RefuseConsumerGroupProtocol() =>
        Check(LibrdkafkaMock.SetApiVersion(_cluster, LibrdkafkaMock.ConsumerGroupHeartbeatApiKey, -1, -1), "withdraw the consumer group protocol");

    public void BringUp() => Check(LibrdkafkaMock.BrokerSetUp(_cluster, BrokerId), "bring the broker up");

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _forwarder.DisposeAsync();
        LibrdkafkaMock.ClusterDestroy(_cluster);
        LibrdkafkaMock.Destroy(_handle);
    }

    private static nint CreateHostHandle()
    {
        // The mock cluster lives inside a client handle; a producer handle that never produces is the lightest.
        var conf = LibrdkafkaMock.ConfNew();
        var errorBuffer = Marshal.AllocHGlobal(512);
        try
        {
            SetOrThrow(conf, "client.id", "ecommerce-embedded-broker", errorBuffer);
            SetOrThrow(conf, "log_level", "4", errorBuffer);
            var handle = LibrdkafkaMock.New(LibrdkafkaMock.ProducerType, conf, errorBuffer, 512);
            if (handle == 0)
            {
                LibrdkafkaMock.ConfDestroy(conf); // Ownership passes to librdkafka only on success.
                throw new InvalidOperationException($"librdkafka refused to start: {Marshal.PtrToStringUTF8(errorBuffer)}");
            }

            return handle;
        }
        finally
        {
            Marshal.FreeHGlobal(errorBuffer);
        }
    }

    private static void SetOrThrow(nint conf, string name, string value, nint errorBuffer)
    {
        if (LibrdkafkaMock.ConfSet(conf, name, value, errorBuffer, 512) != LibrdkafkaMock.ConfOk)
        {
            LibrdkafkaMock.ConfDestroy(conf);
            throw new InvalidOperationException($"librdkafka rejected {name}={value}: {Marshal.PtrToStringUTF8(errorBuffer)}");
        }
    }

    private static IPEndPoint ParseEndpoint(string hostPort)
    {
        var separator = hostPort.LastIndexOf(':');
        var host = hostPort[..separator];
        var port = int.Parse(hostPort[(separator + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var address = host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(host);
        return address.AddressFamily == AddressFamily.InterNetwork ? new IPEndPoint(address, port) : new IPEndPoint(IPAddress.Loopback, port);
    }

    private static void Check(int error, string action)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"Could not {action}: {LibrdkafkaMock.Describe(error)}.");
        }
    }
}
