using Ecommerce.AppHost;
using Ecommerce.Hosting.Kafka;

// The whole local stack: a Kafka broker (container, embedded or external: see Kafka:Mode), the order simulator
// and the ingestion service, with the Aspire dashboard showing their logs, traces and metrics.
var builder = DistributedApplication.CreateBuilder(args);
builder.StopServicesFirst();

var kafka = builder.AddKafkaBroker("kafka", builder.PipelineTopics());

builder.AddProject<Projects.Ecommerce_Consumer>("consumer")
    .WithReference(kafka)
    .WaitForKafka(kafka)
    .WithWarehouse(builder)
    .WithConfigurationSection(builder.Configuration, "Ingestion")
    .WithUrlForEndpoint("http", _ => new ResourceUrlAnnotation { Url = "/dashboard/", DisplayText = "Sales dashboard" })
    .WithHttpHealthCheck("/health")
    .WithPlainHttpOnly();

builder.AddProject<Projects.Ecommerce_Producer>("producer")
    .WithReference(kafka)
    .WaitForKafka(kafka)
    .WithConfigurationSection(builder.Configuration, "Simulator")
    .WithFirstRunBackfill(builder)
    .WithHttpHealthCheck("/health")
    .WithPlainHttpOnly();

builder.Build().Run();
