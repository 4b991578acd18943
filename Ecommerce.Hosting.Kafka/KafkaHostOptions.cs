using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Ecommerce.Hosting.Kafka;

public sealed record KafkaHostOptions(KafkaMode Mode, int Port, bool DataVolume, int Partitions)
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
        var dataVolume = bool.TryParse(section["DataVolume"], out var volume) && volume;
        return new KafkaHostOptions(mode, port, dataVolume, partitions);
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
