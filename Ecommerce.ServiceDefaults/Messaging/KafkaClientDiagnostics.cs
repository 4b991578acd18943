using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Ecommerce.ServiceDefaults.Messaging;

internal static class KafkaClientDiagnostics
{
    public static void EnableStatistics(ClientConfig config, KafkaClientSettings settings)
    {
        if (!settings.DisableMetrics && config.StatisticsIntervalMs is null or 0)
        {
            config.StatisticsIntervalMs = settings.StatisticsIntervalMs;
        }
    }

    public static void Log(ILogger logger, LogMessage message)
    {
        var level = (LogLevel)message.LevelAs(LogLevelType.MicrosoftExtensionsLogging);
        if (logger.IsEnabled(level))
        {
            logger.Log(level, "{KafkaClient} {Facility}: {Message}", message.Name, message.Facility, message.Message);
        }
    }

    public static void LogError(ILogger logger, Error error)
    {
        // librdkafka recovers from most errors by itself (a broker restarting, a connection dropped): those are
        // warnings. Fatal errors leave the client unusable and are logged as such.
        var level = error.IsFatal ? LogLevel.Critical : LogLevel.Warning;
        logger.Log(level, "Kafka client error {Code}: {Reason}", error.Code, error.Reason);
    }
}
