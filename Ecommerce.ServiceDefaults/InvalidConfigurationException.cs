namespace Ecommerce.ServiceDefaults;

/// <summary>
/// A setting is missing or wrong, or what it names cannot be used (a file, a key, an account). The message names the
/// key to change. Services stop at start-up with this one line; any other exception keeps its stack trace.
/// </summary>
public class InvalidConfigurationException : InvalidOperationException
{
    public InvalidConfigurationException()
    {
    }

    public InvalidConfigurationException(string message)
        : base(message)
    {
    }

    public InvalidConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
