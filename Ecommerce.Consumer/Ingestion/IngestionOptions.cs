using Ecommerce.ServiceDefaults;
using Ecommerce.ServiceDefaults.Messaging;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>The <c>Ingestion</c> configuration section.</summary>
public sealed class IngestionOptions : ISettings
{
    public const string SectionName = "Ingestion";

    /// <summary>Consumer group of the ingestion service.</summary>
    public string GroupId { get; set; } = "ecommerce-ingestion";

    /// <summary>Topic the orders come from.</summary>
    public string Topic { get; set; } = KafkaTopics.Orders;

    /// <summary>Topic invalid events go to, with the reason in their headers.</summary>
    public string DeadLetterTopic { get; set; } = KafkaTopics.DeadLetters;

    /// <summary>
    /// A batch is written when it holds this many events... With DuckDB, 5,000 by default: larger batches are no
    /// faster and take more memory.
    /// </summary>
    public int MaxBatchSize { get; set; } = 5_000;

    /// <summary>
    /// <see cref="MaxBatchSize"/> by default with Snowflake, where every statement costs a round trip of a few hundred
    /// milliseconds whatever its size: a batch under backlog grows this large (about 8 MB of orders).
    /// </summary>
    public const int SnowflakeMaxBatchSize = 25_000;

    /// <summary>
    /// ...or when its first event has waited this long, whichever comes first. A batch that is due while the previous
    /// one is still being written grows on until that write ends (or it is full).
    /// </summary>
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// ...or when its records' keys and values add up to this many bytes, so that large (invalid) records cannot
    /// make a batch huge: 5,000 orders are about 1.5 MB.
    /// </summary>
    public long MaxBatchBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// How far in the future an order time may be (producers' clocks are not exact). A later one is dead-lettered: it
    /// would stay the latest word on its product and customer until the world caught up.
    /// </summary>
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Consumers this process runs in the group. Partitions are shared among all consumers of the group, in this
    /// process and in others; with DuckDB (one writing process per file) this is how ingestion runs in parallel.
    /// </summary>
    public int Consumers { get; set; } = 1;

    public const int MaxConsumers = 64;

    /// <summary>
    /// Static group membership (Kafka's <c>group.instance.id</c>): a name for this process that stays the same across its
    /// restarts and is never used by two live processes at once, such as a StatefulSet pod name or a host name. Each of
    /// the process's consumers joins as <c>{InstanceId}-{n}</c> (n from 1 to <see cref="Consumers"/>). Unset, consumers
    /// join as dynamic members. README "Failover" says when it helps (the classic protocol) and what a shared name does.
    /// </summary>
    public string? InstanceId { get; set; }

    /// <summary>The longest <see cref="InstanceId"/>: Kafka allows 249 characters, and a suffix is added per consumer.</summary>
    public const int MaxInstanceIdLength = 200;

    /// <summary>The <c>group.instance.id</c> of the process's consumer number <paramref name="consumer"/> (from 1), if static.</summary>
    public string? GroupInstanceIdOf(int consumer) =>
        string.IsNullOrEmpty(InstanceId) ? null : $"{InstanceId}-{consumer.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>
    /// How a batch reaches the star schema (docs/write-path.md). <see cref="IngestionWritePath.Direct"/>: each batch
    /// in one transaction of its own, facts, dimensions and resume points together; writers take turns.
    /// <see cref="IngestionWritePath.Landed"/>: each batch is appended to a landing table, which any number of
    /// processes do at once, and one process at a time models what has landed in cycles that grow with the backlog.
    /// </summary>
    public IngestionWritePath WritePath { get; set; } = IngestionWritePath.Direct;

    /// <summary>Landed path: how long the modelling lease lasts unless renewed (the most modelling pauses when its holder dies).</summary>
    public TimeSpan ModelLeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Landed path: how long the modeller waits after a cycle that found nothing landed.</summary>
    public TimeSpan ModelPollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Landed path: the most landed orders a modelling cycle takes (round the partitions, lowest offsets first). It bounds
    /// the modeller's memory (docs/write-path.md gives the figure per order) and, with the cycle's time, how fast one
    /// modeller can go: more processes land faster than that only while a backlog builds up.
    /// </summary>
    public int MaxModelledPerCycle { get; set; } = 200_000;

    /// <summary>
    /// Landed path: how long a landed order is kept once it has been modelled; the modeller then deletes it and its
    /// outcome (rows still waiting are never deleted). Zero, the default, keeps every landed order: the raw layer to
    /// replay from. Without it LANDED_ORDERS and LANDED_OUTCOMES grow with every order (LANDED_PROGRESS, a row per landing
    /// and partition, grows either way), and so do the landed read and the modelling
    /// transaction's reads of them.
    /// </summary>
    public TimeSpan LandedRetention { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// The shortest <see cref="LandedRetention"/>: far longer than a modelling cycle, so that a cycle prepared and still
    /// running does not find its rows pruned under it (docs/write-path.md, Known limits).
    /// </summary>
    public static readonly TimeSpan MinLandedRetention = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The per-partition bound <see cref="MaxModelledPerCycle"/> replaced (2026-12): read only to refuse it, so that a
    /// configuration written for it does not go silently unheeded.
    /// </summary>
    public int? MaxModelledPerPartition { get; set; }

    /// <summary>The longest topic name Kafka accepts.</summary>
    public const int MaxTopicLength = 249;

    /// <summary>Whether <paramref name="name"/> follows Kafka's rule for topic names and group.instance.id: letters, digits, '.', '_' and '-'.</summary>
    private static bool IsKafkaName(string? name, int maxLength) =>
        name is { Length: > 0 } && name.Length <= maxLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    public void Validate()
    {
        if (Consumers is < 1 or > MaxConsumers)
        {
            throw new InvalidConfigurationException($"{SectionName}:Consumers is {Consumers}; expected 1 to {MaxConsumers}.");
        }

        if (InstanceId is { Length: > 0 } id && !IsKafkaName(id, MaxInstanceIdLength))
        {
            throw new InvalidConfigurationException(
                $"{SectionName}:InstanceId is '{id}'; expected up to {MaxInstanceIdLength} letters, digits, '.', '_' or '-' (or unset for dynamic membership).");
        }

        // Topics' names; for the source, not librdkafka's pattern subscription (^...), whose topics the batches, resume
        // points and dead letters here would not tell apart.
        foreach (var (key, topic) in new[] { (nameof(Topic), Topic), (nameof(DeadLetterTopic), DeadLetterTopic) })
        {
            if (!IsKafkaName(topic, MaxTopicLength))
            {
                throw new InvalidConfigurationException(
                    $"{SectionName}:{key} is '{topic}'; expected one topic's name: up to {MaxTopicLength} letters, digits, '.', '_' or '-'.");
            }
        }

        if (string.IsNullOrWhiteSpace(GroupId))
        {
            throw new InvalidConfigurationException($"{SectionName}:GroupId is empty; expected a consumer group name.");
        }

        if (MaxBatchSize < 1)
        {
            throw new InvalidConfigurationException($"{SectionName}:MaxBatchSize is {MaxBatchSize}; expected 1 or more.");
        }

        if (MaxBatchBytes < 64 * 1024)
        {
            throw new InvalidConfigurationException($"{SectionName}:MaxBatchBytes is {MaxBatchBytes}; expected 65536 (64 KiB) or more.");
        }

        if (MaxFutureSkew < TimeSpan.Zero || MaxFutureSkew > TimeSpan.FromDays(7))
        {
            throw new InvalidConfigurationException($"{SectionName}:MaxFutureSkew is {MaxFutureSkew}; expected 00:00:00 to 7.00:00:00.");
        }

        if (!Enum.IsDefined(WritePath))
        {
            throw new InvalidConfigurationException($"{SectionName}:WritePath is {WritePath}; expected Direct or Landed.");
        }

        if (ModelLeaseDuration < TimeSpan.FromSeconds(3) || ModelLeaseDuration > TimeSpan.FromHours(1))
        {
            throw new InvalidConfigurationException($"{SectionName}:ModelLeaseDuration is {ModelLeaseDuration}; expected 00:00:03 to 01:00:00.");
        }

        if (ModelPollInterval <= TimeSpan.Zero || ModelPollInterval > TimeSpan.FromMinutes(1))
        {
            throw new InvalidConfigurationException($"{SectionName}:ModelPollInterval is {ModelPollInterval}; expected a positive duration up to 00:01:00.");
        }

        if (MaxModelledPerPartition is { } perPartition)
        {
            throw new InvalidConfigurationException(
                $"{SectionName}:MaxModelledPerPartition is {perPartition}, but it is no longer read; set {SectionName}:MaxModelledPerCycle, the most landed orders a modelling cycle takes in all.");
        }

        if (LandedRetention != TimeSpan.Zero && LandedRetention < MinLandedRetention)
        {
            throw new InvalidConfigurationException(
                $"{SectionName}:LandedRetention is {LandedRetention}; expected 00:00:00 (keep every landed order) or at least {MinLandedRetention}.");
        }

        if (MaxModelledPerCycle < 1)
        {
            throw new InvalidConfigurationException($"{SectionName}:MaxModelledPerCycle is {MaxModelledPerCycle}; expected 1 or more.");
        }

        if (MaxBatchDelay <= TimeSpan.Zero)
        {
            throw new InvalidConfigurationException($"{SectionName}:MaxBatchDelay is {MaxBatchDelay}; expected a positive duration such as 00:00:00.200.");
        }
    }
}
