using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Ecommerce.AppHost;

namespace Ecommerce.Tests.AppHost;

/// <summary>What the AppHost gives the ingestion service for each warehouse, checked on the application model.</summary>
[Trait("Category", "Fast")]
public sealed class WarehouseModelTests
{
    private static Task<IDistributedApplicationTestingBuilder> ModelAsync(params string[] args) =>
        AppModel.BuildAsync(["--Kafka:Mode=embedded", "--Kafka:Port=0", .. args]);

    /// <summary>Snowflake as the warehouse, with every required parameter and a token as the credential.</summary>
    private static Task<IDistributedApplicationTestingBuilder> SnowflakeModelAsync(params string[] args) => ModelAsync(
        [
            "--Warehouse:Provider=Snowflake",
            "--Parameters:snowflake-account=acme-analytics", "--Parameters:snowflake-user=INGEST_SVC",
            "--Parameters:snowflake-warehouse=INGEST_WH", "--Parameters:snowflake-database=ECOMMERCE", "--Parameters:snowflake-schema=PUBLIC",
            "--Parameters:snowflake-token=pat-value", .. args,
        ]);

    [Fact]
    public async Task Snowflake_settings_reach_the_consumer_as_parameters_with_the_key_a_secret()
    {
        await using var builder = await ModelAsync(
            "--Warehouse:Provider=Snowflake",
            "--Parameters:snowflake-account=acme-analytics", "--Parameters:snowflake-user=INGEST_SVC",
            "--Parameters:snowflake-warehouse=INGEST_WH", "--Parameters:snowflake-database=ECOMMERCE", "--Parameters:snowflake-schema=PUBLIC",
            "--Parameters:snowflake-role=INGEST_ROLE", "--Parameters:snowflake-private-key=-----BEGIN PRIVATE KEY-----test-----END PRIVATE KEY-----",
            "--Snowflake:QueryTag=ecommerce-staging");

        var environment = await ConsumerEnvironmentAsync(builder);

        Assert.Equal("Snowflake", environment["Warehouse__Provider"]);
        Assert.Equal("acme-analytics", environment["Snowflake__Account"]);
        Assert.Equal("INGEST_SVC", environment["Snowflake__User"]);
        Assert.Equal("INGEST_WH", environment["Snowflake__Warehouse"]);
        Assert.Equal("ECOMMERCE", environment["Snowflake__Database"]);
        Assert.Equal("PUBLIC", environment["Snowflake__Schema"]);
        Assert.Equal("INGEST_ROLE", environment["Snowflake__Role"]);
        Assert.Equal("ecommerce-staging", environment["Snowflake__QueryTag"]);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", environment["Snowflake__PrivateKey"], StringComparison.Ordinal);
        Assert.DoesNotContain("ConnectionStrings__warehouse", environment.Keys);
        Assert.Empty(builder.Resources.OfType<DuckDbWarehouseResource>());

        var parameters = builder.Resources.OfType<ParameterResource>().ToDictionary(p => p.Name);
        Assert.True(parameters["snowflake-private-key"].Secret);
        Assert.False(parameters["snowflake-account"].Secret);
    }

    [Fact]
    public async Task A_programmatic_access_token_is_passed_as_a_secret_instead_of_a_key()
    {
        await using var builder = await SnowflakeModelAsync();

        var environment = await ConsumerEnvironmentAsync(builder);

        Assert.Equal("pat-value", environment["Snowflake__Token"]);
        Assert.DoesNotContain("Snowflake__PrivateKey", environment.Keys);
        Assert.DoesNotContain("Snowflake__Role", environment.Keys);
        Assert.True(builder.Resources.OfType<ParameterResource>().Single(p => p.Name == "snowflake-token").Secret);
    }

    [Theory]
    [InlineData("Token", "snowflake-token")]
    [InlineData("PrivateKey", "snowflake-private-key")]
    [InlineData("PrivateKeyPassphrase", "snowflake-private-key-passphrase")]
    public async Task A_credential_in_the_apphosts_snowflake_section_is_refused_rather_than_passed_in_clear(string key, string parameter)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => SnowflakeModelAsync($"--Snowflake:{key}=do-not-leak-this"));

        var message = error.GetBaseException().Message;
        Assert.Contains($"Snowflake:{key}", message, StringComparison.Ordinal);
        Assert.Contains($"Parameters:{parameter}", message, StringComparison.Ordinal);
        Assert.DoesNotContain("do-not-leak-this", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_tuning_keys_of_the_apphosts_snowflake_section_reach_the_consumer()
    {
        await using var builder = await SnowflakeModelAsync("--Snowflake:RetryFor=00:00:30", "--Snowflake:Something=else");

        var environment = await ConsumerEnvironmentAsync(builder);

        Assert.Equal("00:00:30", environment["Snowflake__RetryFor"]);
        Assert.DoesNotContain("Snowflake__Something", environment.Keys);
    }

    [Fact]
    public async Task By_default_the_consumer_gets_a_duckdb_file_and_no_snowflake_setting()
    {
        await using var builder = await ModelAsync();

        var environment = await ConsumerEnvironmentAsync(builder);

        Assert.Equal("DuckDb", environment["Warehouse__Provider"]);
        var warehouse = Assert.Single(builder.Resources.OfType<DuckDbWarehouseResource>());
        Assert.Equal("warehouse", warehouse.Name);
        Assert.EndsWith("ecommerce.duckdb", warehouse.Path, StringComparison.Ordinal);
        Assert.Equal($"Data Source={warehouse.Path}", environment["ConnectionStrings__warehouse"]);
        Assert.DoesNotContain(environment.Keys, key => key.StartsWith("Snowflake__", StringComparison.Ordinal));
        Assert.DoesNotContain(builder.Resources.OfType<ParameterResource>(), p => p.Name.StartsWith("snowflake-", StringComparison.Ordinal));
    }

    /// <summary>The consumer's warehouse environment variables, as its callbacks produce them for a run.</summary>
    private static Task<Dictionary<string, string?>> ConsumerEnvironmentAsync(IDistributedApplicationTestingBuilder builder) =>
        AppModel.EnvironmentAsync(
            builder.Resources.OfType<ProjectResource>().Single(p => p.Name == "consumer"),
            key => key.StartsWith("Snowflake__", StringComparison.Ordinal) || key.StartsWith("Warehouse__", StringComparison.Ordinal)
                || key.StartsWith("ConnectionStrings__warehouse", StringComparison.Ordinal));
}
