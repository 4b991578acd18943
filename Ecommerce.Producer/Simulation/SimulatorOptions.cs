using Ecommerce.ServiceDefaults;
using Ecommerce.ServiceDefaults.Messaging;

namespace Ecommerce.Producer.Simulation;

/// <summary>The <c>Simulator</c> configuration section.</summary>
public sealed class SimulatorOptions : ISettings
{
    public const string SectionName = "Simulator";

    /// <summary>Orders per second; 0 sends as fast as the broker takes them.</summary>
    public double Rate { get; set; } = 50;

    /// <summary>Orders to send before stopping the process with exit code 0; 0 runs until stopped.</summary>
    public long Count { get; set; }

    /// <summary>Seed for every random choice, order ids included; unset gives a different run each time.</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Seed of the store alone: its catalogue (names, prices) and customers (names, regions, popularity) are the same
    /// on every start, while orders, and their ids, still differ from run to run. <see cref="Seed"/>, when set, wins.
    /// </summary>
    public int? StoreSeed { get; set; }

    /// <summary>Size of the customer population.</summary>
    public int Customers { get; set; } = 10_000;

    /// <summary>Share (0 to 1) of deliberately broken events, to exercise the dead-letter path.</summary>
    public double InvalidRate { get; set; }

    /// <summary>When above 0, the first <see cref="BackfillCount"/> orders are spread over this many past days.</summary>
    public int BackfillDays { get; set; }

    /// <summary>How many orders the backfill spreads over <see cref="BackfillDays"/>.</summary>
    public int BackfillCount { get; set; } = 2_000;

    /// <summary>Share (0 to 1) of orders sent late: stamped minutes to two days before the time they are sent.</summary>
    public double LateRate { get; set; }

    /// <summary>Topic the orders go to.</summary>
    public string Topic { get; set; } = KafkaTopics.Orders;

    /// <summary>How often a progress line is logged.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Fails at startup, naming the key, instead of misbehaving later.</summary>
    public void Validate()
    {
        static void Require(bool condition, string key, string expectation, object? value)
        {
            if (!condition)
            {
                throw new InvalidConfigurationException($"{SectionName}:{key} is '{value}'; {expectation}.");
            }
        }

        Require(Rate >= 0 && double.IsFinite(Rate), nameof(Rate), "expected orders per second, 0 or more", Rate);
        Require(Count >= 0, nameof(Count), "expected 0 (endless) or a positive count", Count);
        Require(Customers >= 1, nameof(Customers), "expected at least one customer", Customers);
        Require(InvalidRate is >= 0 and <= 1, nameof(InvalidRate), "expected a share from 0 to 1", InvalidRate);
        Require(LateRate is >= 0 and <= 1, nameof(LateRate), "expected a share from 0 to 1", LateRate);
        Require(BackfillDays >= 0, nameof(BackfillDays), "expected 0 or more days", BackfillDays);
        Require(BackfillCount >= 0, nameof(BackfillCount), "expected 0 or more orders", BackfillCount);
        Require(!string.IsNullOrWhiteSpace(Topic), nameof(Topic), "expected a topic name", Topic);
        Require(ProgressInterval > TimeSpan.Zero, nameof(ProgressInterval), "expected a positive interval", ProgressInterval);
    }
}
