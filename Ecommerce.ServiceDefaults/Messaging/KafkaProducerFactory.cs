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
