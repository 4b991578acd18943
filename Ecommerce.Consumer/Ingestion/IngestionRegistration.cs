using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Consumer.Ingestion;

public static class IngestionRegistration
{
    /// <summary>Registers the ingestion pipeline: Kafka clients, validation, dead letters, the worker and its health.</summary>
    public static IHostApplicationBuilder AddOrderIngestion(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(IngestionOptions.SectionName).Get<IngestionOptions>() ?? new IngestionOptions();
        if (builder.Configuration[$"{IngestionOptions.SectionName}:{nameof(IngestionOptions.MaxBatchSize)}"] is null && WarehouseRegistration.UsesSnowflake(builder.Configuration))
        {
            options.MaxBatchSize = IngestionOptions.SnowflakeMaxBatchSize;
        }

        options.Validate();
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(options));

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
        for (var i = 0; i < options.Consumers; i++)
        {
            builder.Services.AddSingleton<IHostedService>(sp => ActivatorUtilities.CreateInstance<IngestionWorker>(sp));
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
