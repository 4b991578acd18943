using System.Security.Cryptography;
using Ecommerce.Consumer.Warehouse.Snowflake;
using Ecommerce.ServiceDefaults;
using Ecommerce.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Ecommerce.Tests.Warehouse.Snowflake;

/// <summary>Snowflake settings and key-pair tokens: what is checked at start-up, and what the JWT says.</summary>
[Trait("Category", "Fast")]
public sealed class SnowflakeSettingsTests
{
    private static SnowflakeOptions Complete(string? privateKey = null) => new()
    {
        Account = "myorg-myaccount",
        User = "ingest_svc",
        PrivateKey = privateKey ?? "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
        Warehouse = "INGEST_WH",
        Database = "ECOMMERCE",
        Schema = "PUBLIC",
    };

    [Theory]
    [InlineData(2_000_000, false)]
    [InlineData(1_000_001, false)]
    [InlineData(4_095, false)]
    [InlineData(1_000_000, true)]
    [InlineData(4_096, true)]
    public void Statements_stay_within_the_megabyte_that_snowflakes_query_history_keeps_whole(int maxBytes, bool accepted)
    {
        // Over 1 MB a statement is cut in query history (user-guide/query-size-limits), where a resubmission with its
        // requestId and retry=true is matched: such a retry could run a batch twice.
        var options = Complete();
        options.MaxBytesPerStatement = maxBytes;

        var error = Record.Exception(options.Validate);

        if (accepted)
        {
            Assert.Null(error);
        }
        else
        {
            Assert.Contains("Snowflake:MaxBytesPerStatement", Assert.IsType<InvalidConfigurationException>(error).Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(nameof(SnowflakeOptions.Account))]
    [InlineData(nameof(SnowflakeOptions.User))]
    [InlineData(nameof(SnowflakeOptions.Warehouse))]
    [InlineData(nameof(SnowflakeOptions.Database))]
    [InlineData(nameof(SnowflakeOptions.Schema))]
    public void A_missing_setting_is_named_in_the_error(string key)
    {
        var options = Complete();
        typeof(SnowflakeOptions).GetProperty(key)!.SetValue(options, null);

        var error = Assert.Throws<InvalidConfigurationException>(options.Validate);

        Assert.Contains($"Snowflake:{key} is not set", error.Message, StringComparison.Ordinal);
        Assert.Contains($"Snowflake__{key}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_pasted_where_its_path_belongs_is_refused_without_being_echoed()
    {
        // A key made for this test, pasted where the path of a key file belongs.
        using var key = RSA.Create(2048);
        var pem = key.ExportPkcs8PrivateKeyPem();
        var options = Complete();
        options.PrivateKey = null;
        options.PrivateKeyPath = pem;

        var error = Assert.Throws<InvalidConfigurationException>(options.Validate);

        Assert.Contains("Snowflake:PrivateKeyPath", error.Message, StringComparison.Ordinal);
        Assert.Contains("Snowflake:PrivateKey", error.Message, StringComparison.Ordinal);
        var body = pem.Split('\n')[1];
        Assert.DoesNotContain(body, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("evil.example.com/steal#")]
    [InlineData("attacker@acme")]
    [InlineData("https://acme.snowflakecomputing.com")]
    [InlineData("acme:443")]
    [InlineData("acme..eu-west-1")]
    [InlineData("acme account")]
    public void An_account_that_is_not_an_identifier_is_refused_so_the_token_cannot_go_to_another_host(string account)
    {
        var options = Complete();
        options.Account = account;

        var error = Assert.Throws<InvalidConfigurationException>(options.Validate);

        Assert.Contains("Snowflake:Account is not an account identifier", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(account, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("myorg-myaccount")]
    [InlineData("xy12345.eu-west-1")]
    [InlineData("xy12345.us-east-2.aws")]
    [InlineData("MYORG-MY_ACCOUNT")]
    public void Account_identifiers_in_their_documented_forms_are_accepted(string account)
    {
        var options = Complete();
        options.Account = account;

        Assert.Null(Record.Exception(options.Validate));
    }

    [Fact]
    public void Without_a_key_or_token_the_error_says_which_settings_give_one()
    {
        var options = Complete();
        options.PrivateKey = null;

        var error = Assert.Throws<InvalidConfigurationException>(options.Validate);

        Assert.Contains("Snowflake:PrivateKeyPath", error.Message, StringComparison.Ordinal);
        Assert.Contains("Snowflake:Token", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://snowflake.example.com/")]
    [InlineData("ftp://127.0.0.1/")]
    public void Credentials_never_go_over_plain_http_except_to_a_loopback_test_double(string url)
    {
        var options = Complete();
        options.BaseUrl = new Uri(url);

        Assert.Contains("Snowflake:BaseUrl", Assert.Throws<InvalidConfigurationException>(options.Validate).Message, StringComparison.Ordinal);

        options.BaseUrl = new Uri("http://127.0.0.1:8080/");
        options.Validate();
    }

    [Fact]
    public void The_account_host_is_the_default_endpoint()
    {
        Assert.Equal(new Uri("https://myorg-myaccount.snowflakecomputing.com/"), Complete().Endpoint);
    }

    [Theory]
    [InlineData("myorg-myaccount", "MYORG-MYACCOUNT")]
    [InlineData("xy12345.eu-west-1", "XY12345")]
    [InlineData("xy12345.us-east-2.aws", "XY12345")]
    public void The_token_names_the_account_in_upper_case_without_the_region_of_a_locator(string account, string expected)
    {
        Assert.Equal(expected, KeyPairCredentials.AccountForToken(account));
    }

    [Fact]
    public void The_jwt_names_the_user_and_the_public_key_fingerprint_and_lives_under_an_hour()
    {
        using var key = RSA.Create(2048);
        var time = new FixedTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var credentials = new KeyPairCredentials("myorg-myaccount", "ingest_svc", key, time);

        var token = credentials.Current();
        var jwt = new JsonWebToken(token.Value);

        Assert.Equal("KEYPAIR_JWT", token.Type);
        Assert.Equal("RS256", jwt.Alg);
        Assert.Equal("MYORG-MYACCOUNT.INGEST_SVC", jwt.Subject);
        Assert.Equal($"MYORG-MYACCOUNT.INGEST_SVC.SHA256:{Convert.ToBase64String(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))}", jwt.Issuer);
        Assert.Equal(time.GetUtcNow().UtcDateTime, jwt.IssuedAt);
        Assert.InRange(jwt.ValidTo - jwt.IssuedAt, TimeSpan.FromMinutes(30), TimeSpan.FromHours(1));
    }

    [Fact]
    public void The_jwt_is_reused_while_young_and_renewed_well_before_it_expires()
    {
        using var key = RSA.Create(2048);
        var time = new FixedTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var credentials = new KeyPairCredentials("myorg-myaccount", "ingest_svc", key, time);
        var first = credentials.Current().Value;

        time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(first, credentials.Current().Value);

        time.Advance(TimeSpan.FromMinutes(15));
        var renewed = credentials.Current().Value;
        Assert.NotEqual(first, renewed);
        Assert.True(new JsonWebToken(renewed).ValidTo > time.GetUtcNow().UtcDateTime.AddMinutes(50));
    }

    [Fact]
    public void An_encrypted_private_key_is_read_with_its_passphrase_and_a_wrong_passphrase_is_a_clear_error()
    {
        using var key = RSA.Create(2048);
        var pem = key.ExportEncryptedPkcs8PrivateKeyPem("correct horse", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000));
        var options = Complete(pem);

        options.PrivateKeyPassphrase = "correct horse";
        var credentials = Assert.IsType<KeyPairCredentials>(SnowflakeCredentials.From(options, TimeProvider.System));
        Assert.Equal(KeyPairCredentials.Fingerprint(key), credentials.PublicKeyFingerprint);

        options.PrivateKeyPassphrase = "wrong";
        var error = Assert.Throws<InvalidConfigurationException>(() => SnowflakeCredentials.From(options, TimeProvider.System));
        Assert.Contains("Snowflake:PrivateKey", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("correct horse", error.Message, StringComparison.Ordinal);

        options.PrivateKeyPassphrase = null;
        Assert.Contains("Snowflake:PrivateKeyPassphrase", Assert.Throws<InvalidConfigurationException>(() => SnowflakeCredentials.From(options, TimeProvider.System)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_file_that_is_not_a_pem_key_is_a_clear_error_that_does_not_echo_it()
    {
        using var directory = new TempDirectory();
        var path = directory.File("rsa_key.p8");
        File.WriteAllText(path, "not a key: s3cr3t-material");
        var options = Complete();
        options.PrivateKey = null;
        options.PrivateKeyPath = path;

        var error = Assert.Throws<InvalidConfigurationException>(() => SnowflakeCredentials.From(options, TimeProvider.System));

        Assert.Contains("Snowflake:PrivateKeyPath", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", error.Message, StringComparison.Ordinal);
    }
}
