namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// Something wrong, in words for everyone (<paramref name="Code"/>, <paramref name="Summary"/>) and the error's own text
/// (<paramref name="Detail"/>), which may quote configuration, host names or data and is shown outside Production only.
/// </summary>
public sealed record Problem(string Code, string Summary, string? Detail)
{
    public string Describe(bool withDetail) => withDetail && Detail is { Length: > 0 } ? $"{Summary}: {Detail}" : $"{Summary} ({Code})";
}
