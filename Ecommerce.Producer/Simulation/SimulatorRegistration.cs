using Confluent.Kafka;
using Ecommerce.ServiceDefaults;
using Ecommerce.ServiceDefaults.Messaging;
using Microsoft.Extensions.Options;

namespace Ecommerce.Producer.Simulation;

public static class SimulatorRegistration
{
    /// <summary>Registers the order simulator: its options, the store and generator, the Kafka producer and the worker.</summary>
    public static IHostApplicationBuilder AddOrderSimulator(this IHostApplicationBuilder builder)
    {
        builder.AddSettings<SimulatorOptions>(SimulatorOptions.SectionName);

        builder.AddKafkaProducer<string, byte[]>("kafka", settings =>
        {
            // No order may be lost or written twice by the client's own retries: idempotence with acks from all
            // in-sync replicas. Compression and a short linger batch small messages at high rates.
            settings.Config.EnableIdempotence ??= true;
            settings.Config.Acks ??= Acks.All;
            settings.Config.CompressionType ??= CompressionType.Lz4;
            settings.Config.LingerMs ??= 5;
            settings.Config.ClientId ??= "ecommerce-producer";
        });

        // One producer for the whole simulator, disposed (after the worker has flushed it) with the container.
        builder.Services.AddSingleton(sp => sp.GetRequiredService<KafkaProducerFactory<string, byte[]>>().Create());
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SimulatorMetrics>();
        builder.Services.AddSingleton(sp => new OrderGenerator(sp.GetRequiredService<IOptions<SimulatorOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddHostedService<SimulatorWorker>();
        return builder;
    }

    /// <summary><c>GET /api/simulator/status</c>: what the simulator has sent so far.</summary>
    public static IEndpointRouteBuilder MapSimulatorStatus(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/simulator/status", (SimulatorMetrics metrics, IOptions<SimulatorOptions> options) => new
        {
            sent = metrics.Sent,
            delivered = metrics.Delivered,
            failed = metrics.Failed,
            invalid = metrics.Invalid,
            rate = options.Value.Rate,
            count = options.Value.Count,
        });
        return endpoints;
    }
}
