using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Ecommerce.Hosting.Kafka;

namespace Ecommerce.Tests.AppHost;

/// <summary>
/// The four ways the AppHost provides Kafka, checked on the application model (nothing is started, so the container
/// mode can be checked on a machine without a container engine).
/// </summary>
[Trait("Category", "Fast")]
public sealed class KafkaModeTests
{
    private static Task<IDistributedApplicationTestingBuilder> ModelAsync(params string[] args) => AppModel.BuildAsync(args);

    [Fact]
    public async Task Container_mode_runs_the_official_image_in_kraft_mode_advertising_the_host_port()
    {
        await using var builder = await ModelAsync("--Kafka:Mode=container", "--Kafka:Port=19092", "--Kafka:DataVolume=true");

        var kafka = Assert.Single(builder.Resources.OfType<KafkaContainerResource>());
        var image = kafka.Annotations.OfType<ContainerImageAnnotation>().Single();
        Assert.Equal("apache/kafka", image.Image);
        var endpoint = kafka.Annotations.OfType<EndpointAnnotation>().Single();
        Assert.Equal((19092, 9092, false), (endpoint.Port, endpoint.TargetPort, endpoint.IsProxied));
        var environment = await EnvironmentOf(kafka);
        Assert.Equal("broker,controller", environment["KAFKA_PROCESS_ROLES"]);
        Assert.Equal("PLAINTEXT://localhost:19092,INTERNAL://kafka:9094", environment["KAFKA_ADVERTISED_LISTENERS"]);
        Assert.Equal("12", environment["KAFKA_NUM_PARTITIONS"]);
        Assert.Contains(kafka.Annotations.OfType<ContainerMountAnnotation>(), m => m.Target == "/var/lib/kafka/data");
        Assert.All(builder.Resources.OfType<ProjectResource>(), p => Assert.Contains(p.Annotations.OfType<WaitAnnotation>(), w => w.Resource == kafka));
        Assert.DoesNotContain(builder.Resources, r => r.Name == "kafka-ui");
    }

    [Fact]
    public async Task With_Kafka_Ui_a_kafbat_container_beside_the_container_broker_reaches_it_on_the_container_network()
    {
        await using var builder = await ModelAsync("--Kafka:Mode=container", "--Kafka:Port=19092", "--Kafka:Ui=true");

        var kafka = Assert.Single(builder.Resources.OfType<KafkaContainerResource>());
        var ui = Assert.IsAssignableFrom<ContainerResource>(Assert.Single(builder.Resources, r => r.Name == "kafka-ui"));
        Assert.Equal("kafbat/kafka-ui", ui.Annotations.OfType<ContainerImageAnnotation>().Single().Image);
        Assert.Equal(8080, Assert.Single(ui.Annotations.OfType<EndpointAnnotation>(), e => e.UriScheme == "http").TargetPort);

        // The UI's bootstrap address must be one the broker both listens on and advertises under a name other
        // containers resolve (the broker's resource name), not the host's localhost port.
        var uiEnvironment = await EnvironmentOf(ui);
        Assert.Equal("kafka", uiEnvironment["KAFKA_CLUSTERS_0_NAME"]);
        Assert.Equal("kafka:9094", uiEnvironment["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"]);
        var brokerEnvironment = await EnvironmentOf(kafka);
        Assert.Contains("INTERNAL://:9094", brokerEnvironment["KAFKA_LISTENERS"], StringComparison.Ordinal);
        Assert.Contains("INTERNAL://kafka:9094", brokerEnvironment["KAFKA_ADVERTISED_LISTENERS"], StringComparison.Ordinal);
        Assert.Contains("INTERNAL:PLAINTEXT", brokerEnvironment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"], StringComparison.Ordinal);

        Assert.Contains(ui.Annotations.OfType<WaitAnnotation>(), w => w.Resource == kafka);
        Assert.Contains(ui.Annotations.OfType<ResourceRelationshipAnnotation>(), r => r.Resource == kafka && r.Type == "Parent");
        Assert.Contains(ManifestPublishingCallbackAnnotation.Ignore, ui.Annotations);
    }

    [Fact]
    public async Task Kafka_Ui_adds_no_container_when_the_broker_is_not_one_and_a_value_that_is_not_a_boolean_is_refused()
    {
        await using (var builder = await ModelAsync("--Kafka:Mode=embedded", "--Kafka:Port=0", "--Kafka:Ui=true"))
        {
            Assert.Empty(builder.Resources.OfType<ContainerResource>());
        }

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => ModelAsync("--Kafka:Mode=container", "--Kafka:Ui=yes"));
        Assert.Contains("Kafka:Ui is 'yes'", failure.ToString(), StringComparison.Ordinal);
    }

    private static Task<Dictionary<string, string?>> EnvironmentOf(IResource resource) => AppModel.EnvironmentAsync(resource);

    [Fact]
    public async Task Embedded_mode_offers_a_connection_string_on_the_configured_port_and_services_wait_for_it()
    {
        await using var builder = await ModelAsync("--Kafka:Mode=embedded", "--Kafka:Port=19093");

        var kafka = Assert.Single(builder.Resources.OfType<EmbeddedKafkaResource>());
        Assert.Equal("127.0.0.1:19093", await kafka.ConnectionStringExpression.GetValueAsync(CancellationToken.None));
        Assert.All(builder.Resources.OfType<ProjectResource>(), p => Assert.Contains(p.Annotations.OfType<WaitAnnotation>(), w => w.Resource == kafka));
    }

    [Fact]
    public async Task The_embedded_broker_creates_the_topics_the_services_are_given_renamed_or_not()
    {
        await using (var defaults = await ModelAsync("--Kafka:Mode=embedded"))
        {
            Assert.Equal(["orders", "orders.dlq"], Assert.Single(defaults.Resources.OfType<EmbeddedKafkaResource>()).Topics);
        }

        await using var renamed = await ModelAsync(
            "--Kafka:Mode=embedded", "--Simulator:Topic=sales", "--Ingestion:Topic=sales", "--Ingestion:DeadLetterTopic=sales.refused");
        Assert.Equal(["sales", "sales.refused"], Assert.Single(renamed.Resources.OfType<EmbeddedKafkaResource>()).Topics);
    }

    [Fact]
    public async Task External_mode_takes_the_given_cluster_and_says_which_setting_is_missing_without_one()
    {
        await using (var builder = await ModelAsync("--Kafka:Mode=external", "--ConnectionStrings:kafka=broker1:9092,broker2:9092"))
        {
            var kafka = builder.Resources.OfType<IResourceWithConnectionString>().Single(r => r.Name == "kafka");
            Assert.Equal("broker1:9092,broker2:9092", await kafka.ConnectionStringExpression.GetValueAsync(CancellationToken.None));
        }

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => ModelAsync("--Kafka:Mode=external"));
        Assert.Contains("ConnectionStrings:kafka", failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_mode_that_does_not_exist_is_refused_naming_the_setting()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => ModelAsync("--Kafka:Mode=zookeeper"));
        Assert.Contains("Kafka:Mode", failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auto_mode_picks_a_container_only_when_a_container_engine_answers()
    {
        await using var builder = await ModelAsync("--Kafka:Port=0");

        var engine = ContainerRuntimeProbe.IsAvailable(out _);
        Assert.Equal(engine, builder.Resources.OfType<KafkaContainerResource>().Any());
        Assert.Equal(!engine, builder.Resources.OfType<EmbeddedKafkaResource>().Any());
    }
}
