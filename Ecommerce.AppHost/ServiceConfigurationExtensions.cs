using Aspire.Hosting.ApplicationModel;
using Ecommerce.AppHost.Kafka;
using Microsoft.Extensions.Configuration;

namespace Ecommerce.AppHost;

internal static class ServiceConfigurationExtensions
{
    /// <summary>
    /// Passes a section of the AppHost's configuration (appsettings, user secrets, command line) to a service as
    /// environment variables, so that e.g. <c>--Simulator:Rate=500</c> on the AppHost reaches the simulator.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithConfigurationSection(
        this IResourceBuilder<ProjectResource> service, IConfiguration configuration, string sectionName)
    {
        foreach (var (key, value) in configuration.GetSection(sectionName).AsEnumerable())
        {
            if (value is not null)
            {
                service.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);
            }
        }

        return service;
    }

    /// <summary>Waits for the broker to answer, except for an external cluster, which the AppHost does not run.</summary>
    public static IResourceBuilder<ProjectResource> WaitForKafka(
        this IResourceBuilder<ProjectResource> service, IResourceBuilder<IResourceWithConnectionString> kafka) =>
        kafka.Resource is EmbeddedKafkaResource or KafkaContainerResource ? service.WaitFor(kafka) : service;

    /// <summary>
    /// Gives the ingestion service its DuckDB file. By default it sits in the AppHost's .data folder, so the
    /// warehouse survives restarts of the stack; <c>Warehouse:Path</c> moves it.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithWarehouse(
        this IResourceBuilder<ProjectResource> service, IDistributedApplicationBuilder builder)
    {
        var provider = builder.Configuration["Warehouse:Provider"] ?? "DuckDb";
        service.WithEnvironment("Warehouse__Provider", provider);
        if (provider.Equals("DuckDb", StringComparison.OrdinalIgnoreCase))
        {
            var path = builder.Configuration["Warehouse:Path"] is { Length: > 0 } configured
                ? Path.GetFullPath(configured)
                : Path.Combine(builder.AppHostDirectory, ".data", "ecommerce.duckdb");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            service.WithEnvironment("ConnectionStrings__warehouse", $"Data Source={path}");
        }

        return service;
    }
}
