using System.Text.RegularExpressions;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// Another writer stored one of the batch's orders, or an order of one of its customers, after the batch read them:
/// the batch's classification or customer histories are out of date. Nothing was written; read again and retry.
/// </summary>
public sealed partial class StaleReadException(string message, Exception innerException) : Exception(message, innerException)
{
    /// <summary>
    /// Whether an error is the refusal of sql/ingestion/check_reads_are_current.sql: the value it failed to convert,
    /// which the statement assembles, so that an error quoting the statement's text does not match.
    /// </summary>
    public static bool IsRefusal(Exception error) => Refusal().IsMatch(error?.Message ?? "");

    [GeneratedRegex(@"ECOMMERCE_STALE_READ: \d+ rows changed")]
    private static partial Regex Refusal();
}
