namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>A programmatic access token or OAuth access token from the settings, sent as it is.</summary>
public sealed class TokenCredentials(string user, string token, string type) : SnowflakeCredentials
{
    public override string Description => $"user {user.Trim().ToUpperInvariant()} with a {type} token";

    public override SnowflakeToken Current() => new(token, type);
}
