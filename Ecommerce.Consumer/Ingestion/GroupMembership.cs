using Confluent.Kafka;
using Ecommerce.ServiceDefaults;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// How the ingestion consumers join their consumer group, which decides how long ingestion stops when a process dies
/// or is replaced (README "Failover").
/// <para>
/// By default the consumer group protocol of KIP-848 (Kafka 4.0 and later): the broker assigns partitions member by
/// member, so a member joining or leaving moves only the partitions concerned, with no group-wide stop; a member that
/// leaves cleanly (SIGTERM) frees its partitions at once, and a crashed one's are handed on after the broker's session
/// timeout (<c>group.consumer.session.timeout.ms</c>: 45 s by default on Apache Kafka, 6 s on the embedded broker).
/// </para>
/// <para>
/// The classic protocol remains for older brokers (<c>GroupProtocol=Classic</c>), with a 6 s session timeout chosen
/// by the client and cooperative-sticky assignment, so survivors keep consuming their own partitions while a
/// rebalance moves the others. (librdkafka does not fail a consumer protocol member whose broker is older: it retries
/// quietly, so the worker warns when it has been given no partitions for a while, naming the setting.)
/// </para>
/// </summary>
public static class GroupMembership
{
    public const string ConfigSection = KafkaClientRegistration.ConsumerSectionName + ":Config";

    /// <summary>
    /// Sets the group settings of the process's consumer number <paramref name="consumer"/> (from 1) on a copy of the
    /// configured Kafka properties; what the configuration sets explicitly is kept.
    /// </summary>
    public static void Apply(ConsumerConfig config, IngestionOptions options, int consumer)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        config.GroupId = options.GroupId;
        config.GroupProtocol ??= GroupProtocol.Consumer;
        if (config.GroupProtocol == GroupProtocol.Classic)
        {
            // A classic member that goes silent (a crash, an OOM kill, a lost node) keeps its partitions for the session
            // timeout: librdkafka's 45 s default stopped ingestion for 91 s after a SIGKILL on the embedded broker
            // (bench --only failover). 6 s is the least a broker accepts by default (group.min.session.timeout.ms).
            // Heartbeats come from a thread of librdkafka's own, which the .NET garbage collector does not pause.
            config.SessionTimeoutMs ??= 6_000;
            config.PartitionAssignmentStrategy ??= PartitionAssignmentStrategy.CooperativeSticky;
        }

        config.GroupInstanceId = options.GroupInstanceIdOf(consumer);
    }

    /// <summary>
    /// Refuses, naming the key, Kafka properties that cannot work: a <c>GroupInstanceId</c> (one id shared by all of
    /// the process's consumers would fence them against each other), and with the consumer group protocol the
    /// settings the broker owns there (librdkafka refuses to build such a consumer).
    /// </summary>
    public static void Check(ConsumerConfig configured)
    {
        ArgumentNullException.ThrowIfNull(configured);
        if (!string.IsNullOrEmpty(configured.GroupInstanceId))
        {
            throw new InvalidConfigurationException(
                $"{ConfigSection}:GroupInstanceId is set; set {IngestionOptions.SectionName}:InstanceId instead, which gives each of the " +
                "process's consumers an id of its own ({InstanceId}-1, {InstanceId}-2, ...).");
        }

        if (configured.GroupProtocol is null or GroupProtocol.Consumer)
        {
            var brokerOwned = configured.SessionTimeoutMs is not null ? nameof(ConsumerConfig.SessionTimeoutMs)
                : configured.HeartbeatIntervalMs is not null ? nameof(ConsumerConfig.HeartbeatIntervalMs)
                : configured.PartitionAssignmentStrategy is not null ? nameof(ConsumerConfig.PartitionAssignmentStrategy)
                : null;
            if (brokerOwned is not null)
            {
                throw new InvalidConfigurationException(
                    $"{ConfigSection}:{brokerOwned} is set, but with the consumer group protocol (GroupProtocol=Consumer, the default) the " +
                    $"broker decides it (its group.consumer.* settings). Remove it, or set {ConfigSection}:GroupProtocol=Classic for a " +
                    "broker older than Kafka 4.0.");
            }
        }
    }
}
