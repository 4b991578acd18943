using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Ecommerce.Hosting.Kafka;

/// <param name="Mode">Where the broker comes from (<c>Kafka:Mode</c>).</param>
/// <param name="Port">The host port clients use (<c>Kafka:Port</c>; 0 picks a free one).</param>
/// <param name="DataVolume">Whether the container broker keeps its data in a named volume (<c>Kafka:DataVolume</c>).</param>
/// <param name="Partitions">Partitions of the pipeline's topics (<c>Kafka:Partitions</c>).</param>
/// <param name="Ui">Whether a Kafka UI container runs beside the container broker (<c>Kafka:Ui</c>).</param>
public sealed record KafkaHostOptions(KafkaMode Mode, int Port, bool DataVolume, int Partitions, bool Ui)
{
    public const string SectionName = "Kafka";
    public const int DefaultPort = 9092;

    /// <summary>Enough partitions for several consumers to share the load, and to spread the embedded broker's
    /// per-partition retention (about 5 MiB) over a useful volume.</summary>
    public const int DefaultPartitions = 12;

    public static KafkaHostOptions FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);

        var modeText = section["Mode"];
        var mode = KafkaMode.Auto;
        if (!string.IsNullOrWhiteSpace(modeText) && !Enum.TryParse(modeText, ignoreCase: true, out mode))
        {
            throw new InvalidOperationException(
                $"Kafka:Mode is '{modeText}'; expected one of auto, container, embedded, external.");
        }

        var port = ReadInt(section, "Port", DefaultPort, min: 0, max: 65535);
        var partitions = ReadInt(section, "Partitions", DefaultPartitions, min: 1, max: 1000);
        var dataVolume = ReadBool(section, "DataVolume");
        var ui = ReadBool(section, "Ui");
        return new KafkaHostOptions(mode, port, dataVolume, partitions, ui);
    }

    private static bool ReadBool(IConfigurationSection section, string key)
    {
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        // A typo such as "yes" silently meaning false would leave a user wondering where the volume or the UI went.
        return bool.TryParse(text, out var value)
            ? value
            : throw new InvalidOperationException($"Kafka:{key} is '{text}'; expected true or false.");
    }

    private static int ReadInt(IConfigurationSection section, string key, int defaultValue, int min, int max)
    {
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return defaultValue;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new InvalidOperationException($"Kafka:{key} is '{text}'; expected a whole number from {min} to {max}.");
        }

        return value;
    }
}
