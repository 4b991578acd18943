using Ecommerce.Consumer.Ingestion.Landing;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.ServiceDefaults;
using Ecommerce.ServiceDefaults.Messaging;

namespace Ecommerce.Consumer.Ingestion;

public static class IngestionRegistration
{
    /// <summary>Registers the ingestion pipeline: Kafka clients, validation, dead letters, the worker and its health.</summary>
    public static IHostApplicationBuilder AddOrderIngestion(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.AddSettings<IngestionOptions>(IngestionOptions.SectionName).PostConfigure(options =>
        {
            // Larger batches by default on Snowflake, where a statement costs a round trip whatever its size.
            if (configuration[$"{IngestionOptions.SectionName}:{nameof(IngestionOptions.MaxBatchSize)}"] is null && WarehouseRegistration.UsesSnowflake(configuration))
            {
                options.MaxBatchSize = IngestionOptions.SnowflakeMaxBatchSize;
            }
        });

        builder.AddKafkaConsumer<byte[]?, byte[]?>("kafka");
        builder.AddKafkaProducer<byte[]?, byte[]?>("kafka");
        builder.AddWarehouse();

        builder.Services.AddSingleton(TimeProvider.System);
        // Error texts can quote settings, host names or data: outside Production only.
        builder.Services.AddSingleton(sp => new IngestionStatus { ShowErrorDetails = !sp.GetRequiredService<IHostEnvironment>().IsProduction() });
        builder.Services.AddSingleton<UpstreamGapReporter>();
        builder.Services.AddSingleton<IngestionMetrics>();
        builder.Services.AddSingleton<DeadLetterPublisher>();
        builder.Services.AddSingleton<PartitionResumer>();
        builder.Services.AddSingleton<BatchWriter>();
        builder.Services.AddSingleton<LandingWriter>();
        builder.Services.AddSingleton<LandedOrderModeller>();
        // The one setting needed to put the service together: how many workers. Out of range, it is refused (naming the
        // key) by CheckSettings before any worker exists; until then the count is kept within range.
        var consumers = SettingsRegistration.Bound(() => configuration.GetValue(
            $"{IngestionOptions.SectionName}:{nameof(IngestionOptions.Consumers)}", new IngestionOptions().Consumers));
        for (var i = 1; i <= Math.Clamp(consumers, 1, IngestionOptions.MaxConsumers); i++)
        {
            var consumerNumber = i; // Names the consumer's group.instance.id when Ingestion:InstanceId is set.
            builder.Services.AddSingleton<IHostedService>(sp => ActivatorUtilities.CreateInstance<IngestionWorker>(sp, consumerNumber));
        }

        // Loads what the warehouse keeps in memory for writing, once every hosted service (the workers apply the schema) has started.
        builder.Services.AddHostedService<WarehouseWarmUp>();

        builder.Services.AddSettingsCheck(sp => GroupMembership.Check(sp.GetRequiredService<KafkaConsumerFactory<byte[]?, byte[]?>>().CreateConfig()));

        // After the workers: hosted services start in order, and the first worker's start applies the schema the modeller needs.
        // A value that is not a write path is refused, naming the key, when the settings are checked.
        if (Enum.TryParse<IngestionWritePath>(configuration[$"{IngestionOptions.SectionName}:{nameof(IngestionOptions.WritePath)}"], ignoreCase: true, out var path)
            && path == IngestionWritePath.Landed)
        {
            builder.Services.AddHostedService<ModellingService>();
        }

        builder.Services.AddHealthChecks().AddCheck<IngestionHealthCheck>("ingestion", tags: ["ready"]);
        return builder;
    }

    /// <summary><c>GET /api/ingestion/status</c>: counts, state, and per-partition offsets and lag.</summary>
    public static IEndpointRouteBuilder MapIngestionStatus(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/ingestion/status", (IngestionStatus status, TimeProvider time) => status.Snapshot(time.GetUtcNow()));
        return endpoints;
    }
}
