using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>
/// Key-pair authentication: an RS256 JWT whose issuer names the public key by its SHA-256 fingerprint. Tokens
/// live an hour at most (Snowflake's limit); a new one is signed when less than a quarter of that is left.
/// </summary>
public sealed class KeyPairCredentials : SnowflakeCredentials
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(59);
    private static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(15);

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly SigningCredentials _signing;
    private readonly string _qualifiedUser;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private (string Token, DateTimeOffset RenewAt)? _current;

    public KeyPairCredentials(string account, string user, RSA privateKey, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        _qualifiedUser = $"{AccountForToken(account)}.{user.Trim().ToUpperInvariant()}";
        PublicKeyFingerprint = Fingerprint(privateKey);
        _signing = new SigningCredentials(new RsaSecurityKey(privateKey), SecurityAlgorithms.RsaSha256);
        _time = time;
    }

    /// <summary>What Snowflake shows as <c>RSA_PUBLIC_KEY_FP</c> in <c>DESC USER</c>: <c>SHA256:</c> and base64.</summary>
    public string PublicKeyFingerprint { get; }

    public override string Description => $"user {_qualifiedUser} with the key pair whose public key fingerprint is {PublicKeyFingerprint}";

    public override SnowflakeToken Current()
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (_current is not { } current || now >= current.RenewAt)
            {
                var issuedAt = now.UtcDateTime;
                var token = _handler.CreateToken(new SecurityTokenDescriptor
                {
                    Issuer = $"{_qualifiedUser}.{PublicKeyFingerprint}",
                    Subject = new ClaimsIdentity([new Claim("sub", _qualifiedUser)]),
                    IssuedAt = issuedAt,
                    Expires = issuedAt + Lifetime,
                    SigningCredentials = _signing,
                });
                current = (token, now + Lifetime - RenewBefore);
                _current = current;
            }

            return new SnowflakeToken(current.Token, "KEYPAIR_JWT");
        }
    }

    public override void Renew()
    {
        lock (_lock)
        {
            _current = null;
        }
    }

    /// <summary>
    /// The account as the JWT names it: upper case, without the region or cloud of a locator
    /// (<c>xy12345.eu-west-1</c> becomes <c>XY12345</c>); an <c>org-account</c> name is kept whole.
    /// </summary>
    public static string AccountForToken(string account)
    {
        ArgumentNullException.ThrowIfNull(account);
        var trimmed = account.Trim();
        var dot = trimmed.IndexOf('.', StringComparison.Ordinal);
        return (dot > 0 ? trimmed[..dot] : trimmed).ToUpperInvariant();
    }

    public static string Fingerprint(RSA key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return "SHA256:" + Convert.ToBase64String(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
    }
}
