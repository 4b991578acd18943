using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Ecommerce.ServiceDefaults.Messaging;

/// <summary>
/// Builds producers from the bound <see cref="KafkaProducerSettings"/> with logging and metrics attached.
/// Use it directly when a service needs a producer with its own tweaks (for example a dead-letter producer).
/// </summary>
public sealed class KafkaProducerFactory<TKey, TValue>(
    KafkaProducerSettings settings, KafkaClientMetrics metrics, ILoggerFactory loggerFactory)
{
    /// <summary>A copy of the configured properties, safe to change before building.</summary>
    public ProducerConfig CreateConfig() => new(new Dictionary<string, string>(settings.Config));

    public IProducer<TKey, TValue> Create(
        Action<ProducerConfig>? configure = null, Action<ProducerBuilder<TKey, TValue>>? configureBuilder = null)
    {
        var config = CreateConfig();
        configure?.Invoke(config);
        KafkaClientDiagnostics.EnableStatistics(config, settings);

        var logger = loggerFactory.CreateLogger($"Confluent.Kafka.Producer");
        var builder = new ProducerBuilder<TKey, TValue>(config)
            .SetLogHandler((_, message) => KafkaClientDiagnostics.Log(logger, message))
            .SetErrorHandler((_, error) => KafkaClientDiagnostics.LogError(logger, error));
        if (!settings.DisableMetrics)
        {
            builder.SetStatisticsHandler((_, json) => metrics.Record(json));
        }

        configureBuilder?.Invoke(builder);
        return builder.Build();
    }
}

/// <summary>
/// Builds consumers from the bound <see cref="KafkaConsumerSettings"/> with logging and metrics attached. Services
/// that handle partition assignment themselves pass their handlers through <c>configureBuilder</c>.
/// </summary>
public sealed class KafkaConsumerFactory<TKey, TValue>(
    KafkaConsumerSettings settings, KafkaClientMetrics metrics, ILoggerFactory loggerFactory)
{
    /// <summary>A copy of the configured properties, safe to change before building.</summary>
    public ConsumerConfig CreateConfig() => new(new Dictionary<string, string>(settings.Config));

    public IConsumer<TKey, TValue> Create(
        Action<ConsumerConfig>? configure = null, Action<ConsumerBuilder<TKey, TValue>>? configureBuilder = null)
    {
        var config = CreateConfig();
        configure?.Invoke(config);
        KafkaClientDiagnostics.EnableStatistics(config, settings);

        var logger = loggerFactory.CreateLogger($"Confluent.Kafka.Consumer");
        var builder = new ConsumerBuilder<TKey, TValue>(config)
            .SetLogHandler((_, message) => KafkaClientDiagnostics.Log(logger, message))
            .SetErrorHandler((_, error) => KafkaClientDiagnostics.LogError(logger, error));
        if (!settings.DisableMetrics)
        {
            builder.SetStatisticsHandler((_, json) => metrics.Record(json));
        }

        configureBuilder?.Invoke(builder);
        return builder.Build();
    }
}

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
