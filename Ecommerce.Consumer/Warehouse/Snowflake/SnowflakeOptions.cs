using Ecommerce.ServiceDefaults;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>
/// The <c>Snowflake</c> configuration section. Secrets (the private key, its passphrase, a token) come from the
/// environment, user secrets or Aspire parameters marked secret; never from a committed file.
/// </summary>
public sealed partial class SnowflakeOptions : ISettings
{
    public const string SectionName = "Snowflake";

    /// <summary>Account identifier, e.g. <c>myorg-myaccount</c> or a locator such as <c>xy12345.eu-west-1</c>.</summary>
    public string? Account { get; set; }

    /// <summary>The user the service logs in as (a service user with an RSA public key set).</summary>
    public string? User { get; set; }

    /// <summary>Path of the PKCS#8 PEM private key file (key-pair authentication).</summary>
    public string? PrivateKeyPath { get; set; }

    /// <summary>The PKCS#8 PEM private key itself, for platforms that hand secrets over as values.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>Passphrase of an encrypted private key (<c>BEGIN ENCRYPTED PRIVATE KEY</c>).</summary>
    public string? PrivateKeyPassphrase { get; set; }

    /// <summary>A programmatic access token or an OAuth access token, instead of a key pair.</summary>
    public string? Token { get; set; }

    /// <summary>What <see cref="Token"/> is: <c>PROGRAMMATIC_ACCESS_TOKEN</c> (default) or <c>OAUTH</c>.</summary>
    public string? TokenType { get; set; }

    // Warehouse, Database, Schema and Role are names as SQL reads them: upper-cased unless written in double quotes.

    /// <summary>The virtual warehouse that runs the statements.</summary>
    public string? Warehouse { get; set; }

    public string? Database { get; set; }

    public string? Schema { get; set; }

    /// <summary>Role to run as; the user's default role when empty.</summary>
    public string? Role { get; set; }

    /// <summary>
    /// Where the SQL API is; <c>https://{Account}.snowflakecomputing.com</c> by default. Plain http is accepted only
    /// for a loopback address (a local test double), so that no credential ever crosses a network in clear text.
    /// </summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>
    /// Tag on every statement, to find and cost this service's queries in Snowflake's query history; give each
    /// deployment (or instance) its own when several share an account.
    /// </summary>
    public string QueryTag { get; set; } = "ecommerce-ingestion";

    /// <summary>How long Snowflake may run one statement (or one batch transaction) before cancelling it.</summary>
    public TimeSpan StatementTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long one HTTP exchange may take before it is abandoned and resubmitted. Snowflake answers 202 within
    /// 45 s when a statement runs longer, so an exchange should not take much more than that.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long transient failures (429, 5xx, timeouts, dropped connections) of one statement are retried, with at
    /// least one resubmission, before the caller is told; the ingestion service then retries the whole batch, so
    /// nothing is lost either way.
    /// </summary>
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Bytes of row data one statement carries. A row set travels as one bind variable holding its rows as JSON; a
    /// larger set takes several statements. At most 1,000,000: Snowflake keeps a statement over 1 MB, bound values
    /// included, only cut short in its query history (user-guide/query-size-limits), and resubmitting a statement
    /// with its requestId and retry=true (how this client retries without running anything twice) finds the first
    /// run there (developer-guide/sql-api/submitting-requests). 900,000 bytes is about 4,500 orders or 20,000 order ids.
    /// </summary>
    public int MaxBytesPerStatement { get; set; } = 900_000;

    internal bool UsesKeyPair => string.IsNullOrWhiteSpace(Token);

    /// <summary>The SQL API endpoint: <see cref="BaseUrl"/>, or the account's own host.</summary>
    internal Uri Endpoint => BaseUrl ?? new Uri($"https://{Account!.Trim().ToLowerInvariant()}.snowflakecomputing.com/");

    /// <summary>Checks that the settings make a usable connection; the error names the key to set.</summary>
    public void Validate()
    {
        Require(Account, nameof(Account), "the account identifier, e.g. myorg-myaccount");
        Require(User, nameof(User), "the user the service logs in as");
        Require(Warehouse, nameof(Warehouse), "the virtual warehouse that runs the statements");
        Require(Database, nameof(Database), "the database that holds the star schema");
        Require(Schema, nameof(Schema), "the schema that holds the star schema, e.g. PUBLIC");
        if (!AccountIdentifier().IsMatch(Account!.Trim()))
        {
            // Not echoed: the value goes into the host name the signed JWT is sent to, and a wrong one may hold anything.
            throw new InvalidConfigurationException(
                $"{SectionName}:Account is not an account identifier: expected letters, digits, '-', '_' and '.' only, such as " +
                "myorg-myaccount or xy12345.eu-west-1 (no scheme, host name, path or port).");
        }

        if (UsesKeyPair)
        {
            var hasPath = !string.IsNullOrWhiteSpace(PrivateKeyPath);
            var hasKey = !string.IsNullOrWhiteSpace(PrivateKey);
            if (!hasPath && !hasKey)
            {
                throw new InvalidConfigurationException(
                    $"No Snowflake credential is set. Set {SectionName}:PrivateKeyPath (a PKCS#8 PEM file) or {SectionName}:PrivateKey for " +
                    $"key-pair authentication, or {SectionName}:Token with {SectionName}:TokenType for a programmatic access or OAuth token.");
            }

            if (hasPath && LooksLikeKey(PrivateKeyPath!))
            {
                throw new InvalidConfigurationException(
                    $"{SectionName}:PrivateKeyPath holds what looks like a key, not the path of a key file. Give the key itself as " +
                    $"{SectionName}:PrivateKey (a secret), or write it to a file and name that file here.");
            }

            if (hasPath && hasKey)
            {
                throw new InvalidConfigurationException($"Both {SectionName}:PrivateKeyPath and {SectionName}:PrivateKey are set; set only one.");
            }
        }
        else if (TokenType is { Length: > 0 } type && !IsKnownTokenType(type))
        {
            throw new InvalidConfigurationException(
                $"{SectionName}:TokenType is '{type}'; expected PROGRAMMATIC_ACCESS_TOKEN or OAUTH.");
        }

        if (BaseUrl is { } url)
        {
            var secure = url.Scheme == Uri.UriSchemeHttps;
            var loopbackHttp = url.Scheme == Uri.UriSchemeHttp && url.IsLoopback;
            if (!url.IsAbsoluteUri || !(secure || loopbackHttp))
            {
                throw new InvalidConfigurationException(
                    $"{SectionName}:BaseUrl is '{url}'; expected an https URL (plain http only for a loopback address).");
            }
        }

        Positive(StatementTimeout, nameof(StatementTimeout));
        Positive(RequestTimeout, nameof(RequestTimeout));
        Positive(RetryFor, nameof(RetryFor));
        if (MaxBytesPerStatement is < 4_096 or > 1_000_000)
        {
            throw new InvalidConfigurationException(
                $"{SectionName}:MaxBytesPerStatement is {MaxBytesPerStatement}; expected 4096 to 1000000 (Snowflake cuts statements over 1 MB " +
                "in its query history, and a retried statement is matched there).");
        }
    }

    /// <summary>A PEM pasted where a path belongs: never echo it, never try to open it.</summary>
    internal static bool LooksLikeKey(string path) =>
        path.Contains("-----BEGIN", StringComparison.Ordinal) || path.Contains("PRIVATE KEY", StringComparison.Ordinal)
        || path.Contains('\n', StringComparison.Ordinal) || path.Length > 1024;

    /// <summary>An organisation-account name (<c>myorg-myaccount</c>) or a locator with region (<c>xy12345.eu-west-1.aws</c>).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*$")]
    private static partial System.Text.RegularExpressions.Regex AccountIdentifier();

    internal static bool IsKnownTokenType(string type) =>
        type.Equals("PROGRAMMATIC_ACCESS_TOKEN", StringComparison.OrdinalIgnoreCase) || type.Equals("OAUTH", StringComparison.OrdinalIgnoreCase);

    private static void Require(string? value, string key, string meaning)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new InvalidConfigurationException(
                $"{SectionName}:{key} is not set; it is {meaning}. Set it, e.g. with the environment variable {SectionName}__{key}.");
        }
    }

    private static void Positive(TimeSpan value, string key)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new InvalidConfigurationException($"{SectionName}:{key} is {value}; expected a positive duration such as 00:01:00.");
        }
    }
}
