using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Ecommerce.ServiceDefaults.Messaging;

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
