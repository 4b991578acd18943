using Confluent.Kafka;
using Ecommerce.ServiceDefaults;
using Ecommerce.ServiceDefaults.Messaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The Kafka client integration Aspire.Confluent.Kafka would give (that package is not available to this
/// project): clients built from configuration, a readiness check, client metrics and log forwarding.
/// </summary>
public static class KafkaClientRegistration
{
    public const string ProducerSectionName = "Aspire:Confluent:Kafka:Producer";
    public const string ConsumerSectionName = "Aspire:Confluent:Kafka:Consumer";

    /// <summary>
    /// Registers a <see cref="KafkaProducerFactory{TKey,TValue}"/> for the cluster named <paramref name="connectionName"/>.
    /// Services build the producers they need from it, each with its own tweaks, and own them.
    /// </summary>
    public static IHostApplicationBuilder AddKafkaProducer<TKey, TValue>(
        this IHostApplicationBuilder builder,
        string connectionName,
        Action<KafkaProducerSettings>? configureSettings = null)
    {
        var settings = new KafkaProducerSettings();
        BindSettings(builder, ProducerSectionName, connectionName, settings, settings.Config);
        configureSettings?.Invoke(settings);
        ValidateSettings(settings, connectionName, ProducerSectionName);

        builder.Services.TryAddSingleton<KafkaClientMetrics>();
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton<KafkaProducerFactory<TKey, TValue>>();
        AddHealthCheck(builder, connectionName, settings);
        return builder;
    }

    /// <summary>
    /// Registers a <see cref="KafkaConsumerFactory{TKey,TValue}"/> for the cluster named <paramref name="connectionName"/>.
    /// Services build their consumers from it (each with its own group and rebalance handlers), and own them.
    /// </summary>
    public static IHostApplicationBuilder AddKafkaConsumer<TKey, TValue>(
        this IHostApplicationBuilder builder,
        string connectionName,
        Action<KafkaConsumerSettings>? configureSettings = null)
    {
        var settings = new KafkaConsumerSettings();
        BindSettings(builder, ConsumerSectionName, connectionName, settings, settings.Config);
        configureSettings?.Invoke(settings);
        ValidateSettings(settings, connectionName, ConsumerSectionName);

        builder.Services.TryAddSingleton<KafkaClientMetrics>();
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton<KafkaConsumerFactory<TKey, TValue>>();
        AddHealthCheck(builder, connectionName, settings);
        return builder;
    }

    private static void BindSettings(
        IHostApplicationBuilder builder, string sectionName, string connectionName, KafkaClientSettings settings, ClientConfig config)
    {
        var section = builder.Configuration.GetSection(sectionName);
        SettingsRegistration.Bound(() =>
        {
            section.Bind(settings);
            section.GetSection("Config").Bind(config);
            return settings;
        });

        if (builder.Configuration.GetConnectionString(connectionName) is { Length: > 0 } connectionString)
        {
            settings.ConnectionString = connectionString;
        }
    }

    private static void ValidateSettings(KafkaClientSettings settings, string connectionName, string sectionName)
    {
        if (!string.IsNullOrWhiteSpace(settings.ConnectionString))
        {
            settings.ClientConfig.BootstrapServers = settings.ConnectionString;
        }

        if (string.IsNullOrWhiteSpace(settings.ClientConfig.BootstrapServers))
        {
            throw new InvalidConfigurationException(
                $"No Kafka bootstrap servers are configured for '{connectionName}'. Set ConnectionStrings:{connectionName} " +
                $"(environment variable ConnectionStrings__{connectionName}), or {sectionName}:Config:BootstrapServers.");
        }
    }

    private static void AddHealthCheck(IHostApplicationBuilder builder, string connectionName, KafkaClientSettings settings)
    {
        if (settings.DisableHealthChecks
            || builder.Services.Any(d => d.ServiceType == typeof(KafkaHealthCheck) && Equals(d.ServiceKey, connectionName)))
        {
            return; // One check per cluster is enough, however many clients talk to it.
        }

        var bootstrapServers = settings.ClientConfig.BootstrapServers;
        builder.Services.AddKeyedSingleton(connectionName, (_, _) => new KafkaHealthCheck(bootstrapServers));
        builder.Services.AddHealthChecks().Add(new Diagnostics.HealthChecks.HealthCheckRegistration(
            connectionName,
            sp => sp.GetRequiredKeyedService<KafkaHealthCheck>(connectionName),
            failureStatus: null,
            tags: ["ready"]));
    }
}
