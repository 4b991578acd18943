using System.Security.Cryptography;
using Ecommerce.ServiceDefaults;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>
/// Where the SQL API's bearer token comes from: a JWT signed with the user's private key (renewed before it
/// expires), or a programmatic access / OAuth token given in the settings.
/// </summary>
public abstract class SnowflakeCredentials
{
    /// <summary>Who is authenticating and how, for error messages; never contains a secret.</summary>
    public abstract string Description { get; }

    public abstract SnowflakeToken Current();

    /// <summary>Drops the token in hand, so that the next <see cref="Current"/> makes a new one (after a 401).</summary>
    public virtual void Renew()
    {
    }

    public static SnowflakeCredentials From(SnowflakeOptions options, TimeProvider time) =>
        options.UsesKeyPair
            ? new KeyPairCredentials(options.Account!, options.User!, LoadPrivateKey(options), time)
            : new TokenCredentials(options.User!, options.Token!, options.TokenType is { Length: > 0 } type ? type.ToUpperInvariant() : "PROGRAMMATIC_ACCESS_TOKEN");

    private static RSA LoadPrivateKey(SnowflakeOptions options)
    {
        var key = SnowflakeOptions.SectionName + (options.PrivateKeyPath is { Length: > 0 } ? ":PrivateKeyPath" : ":PrivateKey");
        string pem;
        try
        {
            pem = options.PrivateKeyPath is { Length: > 0 } path ? File.ReadAllText(path) : options.PrivateKey!;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidConfigurationException($"{key} ('{options.PrivateKeyPath}') cannot be read: {ex.Message}", ex);
        }

        var rsa = RSA.Create();
        try
        {
            if (pem.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal))
            {
                if (string.IsNullOrEmpty(options.PrivateKeyPassphrase))
                {
                    throw new InvalidConfigurationException(
                        $"The private key of {key} is encrypted and {SnowflakeOptions.SectionName}:PrivateKeyPassphrase is not set.");
                }

                rsa.ImportFromEncryptedPem(pem, options.PrivateKeyPassphrase);
            }
            else
            {
                rsa.ImportFromPem(pem);
            }

            return rsa;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            rsa.Dispose();
            // The message of a wrong passphrase or a malformed file; the key material itself is never echoed.
            throw new InvalidConfigurationException(
                $"{key} does not hold a usable RSA private key in PEM form (PKCS#8, optionally encrypted): {ex.Message}", ex);
        }
    }
}
