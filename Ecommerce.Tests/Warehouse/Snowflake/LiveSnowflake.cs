using Ecommerce.Consumer.Warehouse.Snowflake;

namespace Ecommerce.Tests.Warehouse.Snowflake;

/// <summary>
/// A real Snowflake account for the live tests, described by environment variables (never by a file in the
/// repository): SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_WAREHOUSE, SNOWFLAKE_DATABASE, optionally
/// SNOWFLAKE_ROLE, and SNOWFLAKE_PRIVATE_KEY_PATH (with SNOWFLAKE_PRIVATE_KEY_PASSPHRASE) or SNOWFLAKE_TOKEN.
/// </summary>
public static class LiveSnowflake
{
    public const string SkipReason =
        "No Snowflake account: set SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_WAREHOUSE, SNOWFLAKE_DATABASE and " +
        "SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_TOKEN (optionally SNOWFLAKE_ROLE) to run the live tests; the role needs " +
        "CREATE SCHEMA on the database.";

    /// <summary>The account's settings, or null when SNOWFLAKE_ACCOUNT is not set.</summary>
    public static SnowflakeOptions? Options()
    {
        if (string.IsNullOrWhiteSpace(Variable("ACCOUNT")))
        {
            return null;
        }

        var options = new SnowflakeOptions
        {
            Account = Variable("ACCOUNT"),
            User = Variable("USER"),
            PrivateKeyPath = Variable("PRIVATE_KEY_PATH"),
            PrivateKeyPassphrase = Variable("PRIVATE_KEY_PASSPHRASE"),
            Token = Variable("TOKEN"),
            TokenType = Variable("TOKEN_TYPE"),
            Warehouse = Variable("WAREHOUSE"),
            Database = Variable("DATABASE"),
            Schema = "PUBLIC",
            Role = Variable("ROLE"),
        };
        options.Validate();
        return options;
    }

    private static string? Variable(string name) => Environment.GetEnvironmentVariable($"SNOWFLAKE_{name}") is { Length: > 0 } value ? value : null;
}

/// <summary>
/// A test that runs against a real Snowflake account, and is reported as skipped, with the reason, without one.
/// Its time is bounded by the client's own limits (Snowflake:RequestTimeout, StatementTimeout and RetryFor).
/// </summary>
public sealed class LiveSnowflakeFactAttribute : FactAttribute
{
    public LiveSnowflakeFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("SNOWFLAKE_ACCOUNT")))
        {
            Skip = LiveSnowflake.SkipReason;
        }
    }
}
