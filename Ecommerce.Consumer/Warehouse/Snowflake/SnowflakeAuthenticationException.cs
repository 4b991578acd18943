using Ecommerce.ServiceDefaults;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>
/// Snowflake rejected the credentials (HTTP 401 or 403). Permanent until the settings change, so it is an
/// <see cref="InvalidConfigurationException"/>: at start-up the service stops with this message instead of retrying.
/// </summary>
public sealed class SnowflakeAuthenticationException : InvalidConfigurationException
{
    public SnowflakeAuthenticationException()
    {
    }

    public SnowflakeAuthenticationException(string message)
        : base(message)
    {
    }

    public SnowflakeAuthenticationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SnowflakeAuthenticationException(string message, string? code)
        : base(message)
    {
        Code = code;
    }

    public string? Code { get; }
}
