using Ecommerce.Hosting.Kafka;
using Ecommerce.ServiceDefaults.Messaging;
using Microsoft.Extensions.Configuration;

namespace Ecommerce.AppHost;

internal static class ServiceConfigurationExtensions
{
    /// <summary>The warehouse's name in the model, and so its connection string's (<c>ConnectionStrings:warehouse</c>).</summary>
    private const string WarehouseName = "warehouse";

    /// <summary>Keys of the AppHost's Snowflake section that are passed on as they are: none of them is a secret.</summary>
    private static readonly string[] SnowflakeTuningKeys =
        ["QueryTag", "StatementTimeout", "RequestTimeout", "RetryFor", "MaxBytesPerStatement", "BaseUrl"];

    /// <summary>Credentials, and the secret parameter that carries each one.</summary>
    private static readonly (string Key, string Parameter)[] SnowflakeSecrets =
        [("PrivateKey", "snowflake-private-key"), ("PrivateKeyPassphrase", "snowflake-private-key-passphrase"), ("Token", "snowflake-token")];

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

    /// <summary>
    /// The topics the services will use, as the settings passed on to them name them (<c>Simulator:Topic</c>,
    /// <c>Ingestion:Topic</c>, <c>Ingestion:DeadLetterTopic</c>), so that a renamed topic is the one created.
    /// </summary>
    public static IEnumerable<string> PipelineTopics(this IDistributedApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        yield return configuration["Simulator:Topic"] is { Length: > 0 } produced ? produced : KafkaTopics.Orders;
        yield return configuration["Ingestion:Topic"] is { Length: > 0 } consumed ? consumed : KafkaTopics.Orders;
        yield return configuration["Ingestion:DeadLetterTopic"] is { Length: > 0 } deadLetters ? deadLetters : KafkaTopics.DeadLetters;
    }

    /// <summary>
    /// Says that the service serves plain HTTP only. Otherwise Aspire 13 counts every project as a user of its
    /// development certificate and, on a machine without a trusted one, warns at start and shows a red banner on
    /// every dashboard page, although nothing here uses HTTPS.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithPlainHttpOnly(this IResourceBuilder<ProjectResource> service)
    {
#pragma warning disable ASPIRECERTIFICATES001 // Marked for evaluation in Aspire 13; the one way to say so.
        return service.WithoutHttpsCertificate();
#pragma warning restore ASPIRECERTIFICATES001
    }

    /// <summary>Waits for the broker to answer, except for an external cluster, which the AppHost does not run.</summary>
    public static IResourceBuilder<ProjectResource> WaitForKafka(
        this IResourceBuilder<ProjectResource> service, IResourceBuilder<IResourceWithConnectionString> kafka) =>
        kafka.Resource is EmbeddedKafkaResource or KafkaContainerResource ? service.WaitFor(kafka) : service;

    /// <summary>
    /// Gives the ingestion service its warehouse. DuckDB (the default): a <see cref="DuckDbWarehouseResource"/>, a file
    /// in the AppHost's .data folder, so the warehouse survives restarts of the stack (<c>Warehouse:Path</c> moves it),
    /// referenced for its connection string. Snowflake: the account settings as Aspire parameters (see
    /// <see cref="WithSnowflake"/>).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithWarehouse(
        this IResourceBuilder<ProjectResource> service, IDistributedApplicationBuilder builder)
    {
        var provider = builder.Configuration["Warehouse:Provider"] ?? "DuckDb";
        service.WithEnvironment("Warehouse__Provider", provider);
        if (DuckDbPath(builder) is { } path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var warehouse = builder.AddResource(new DuckDbWarehouseResource(WarehouseName, path))
                .WithInitialState(new CustomResourceSnapshot
                {
                    ResourceType = "DuckDB file",
                    State = new ResourceStateSnapshot("Ready", KnownResourceStateStyles.Success),
                    Properties = [new("path", path)],
                });
            service.WithReference(warehouse);
        }
        else if (provider.Equals("Snowflake", StringComparison.OrdinalIgnoreCase))
        {
            service.WithSnowflake(builder);
        }

        return service;
    }

    /// <summary>The embedded warehouse's file, or null when the warehouse is Snowflake.</summary>
    public static string? DuckDbPath(IDistributedApplicationBuilder builder) =>
        !(builder.Configuration["Warehouse:Provider"] ?? "DuckDb").Equals("DuckDb", StringComparison.OrdinalIgnoreCase)
            ? null
            : builder.Configuration["Warehouse:Path"] is { Length: > 0 } configured
                ? Path.GetFullPath(configured)
                : Path.Combine(builder.AppHostDirectory, ".data", "ecommerce.duckdb");

    /// <summary>
    /// On a first run (no DuckDB warehouse file yet), the simulator first sends <c>BackfillCount</c> orders spread over
    /// the past <c>BackfillDays</c> (9,000 over 90 days unless the AppHost's Simulator section says otherwise), so that
    /// every analytics answer has history to show from the start. Later runs add to that history and send none.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithFirstRunBackfill(this IResourceBuilder<ProjectResource> simulator, IDistributedApplicationBuilder builder)
    {
        if (DuckDbPath(builder) is { } path && !File.Exists(path))
        {
            simulator.WithEnvironment("Simulator__BackfillDays", builder.Configuration["Simulator:BackfillDays"] ?? "90");
            simulator.WithEnvironment("Simulator__BackfillCount", builder.Configuration["Simulator:BackfillCount"] ?? "9000");
        }

        return simulator;
    }

    /// <summary>
    /// Snowflake settings as Aspire parameters (<c>Parameters:snowflake-*</c> in user secrets, appsettings or the
    /// environment; the dashboard asks for the missing ones). The credential is a secret parameter: the PEM private
    /// key itself (<c>snowflake-private-key</c>, with <c>snowflake-private-key-passphrase</c> when it is encrypted),
    /// or a programmatic access / OAuth token (<c>snowflake-token</c>); a key file can be named instead with the
    /// plain <c>snowflake-private-key-path</c>. Tuning keys of the AppHost's <c>Snowflake</c> section pass through.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithSnowflake(this IResourceBuilder<ProjectResource> service, IDistributedApplicationBuilder builder)
    {
        bool Given(string parameter) => !string.IsNullOrWhiteSpace(builder.Configuration[$"Parameters:{parameter}"]);
        void Pass(string key, string parameter, bool secret = false) =>
            service.WithEnvironment($"Snowflake__{key}", builder.AddParameter(parameter, secret: secret));

        // Credentials in the AppHost's own Snowflake section would reach the service as plain environment variables,
        // shown on the dashboard: refuse them, and name the secret parameter that carries each one instead.
        foreach (var (key, parameter) in SnowflakeSecrets)
        {
            if (!string.IsNullOrEmpty(builder.Configuration[$"Snowflake:{key}"]))
            {
                throw new InvalidOperationException(
                    $"Snowflake:{key} is set in the AppHost's configuration, which would pass it on in clear text. Give it as the secret parameter " +
                    $"Parameters:{parameter} instead (e.g. dotnet user-secrets set \"Parameters:{parameter}\" ... --project Ecommerce.AppHost).");
            }
        }

        foreach (var key in SnowflakeTuningKeys)
        {
            if (builder.Configuration[$"Snowflake:{key}"] is { Length: > 0 } value)
            {
                service.WithEnvironment($"Snowflake__{key}", value);
            }
        }

        Pass("Account", "snowflake-account");
        Pass("User", "snowflake-user");
        Pass("Warehouse", "snowflake-warehouse");
        Pass("Database", "snowflake-database");
        Pass("Schema", "snowflake-schema");
        if (Given("snowflake-role"))
        {
            Pass("Role", "snowflake-role");
        }

        if (Given("snowflake-token"))
        {
            Pass("Token", "snowflake-token", secret: true);
            if (Given("snowflake-token-type"))
            {
                Pass("TokenType", "snowflake-token-type");
            }
        }
        else if (Given("snowflake-private-key-path"))
        {
            Pass("PrivateKeyPath", "snowflake-private-key-path");
        }
        else
        {
            Pass("PrivateKey", "snowflake-private-key", secret: true);
        }

        if (Given("snowflake-private-key-passphrase"))
        {
            Pass("PrivateKeyPassphrase", "snowflake-private-key-passphrase", secret: true);
        }

        return service;
    }
}
