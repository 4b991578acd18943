namespace Ecommerce.Consumer.Ingestion;

/// <summary>Why an event was refused: a short stable code (for metrics) and a sentence for people.</summary>
public sealed record Rejection(string Code, string Reason)
{
    public const string EmptyCode = "empty";
    public const string TooLargeCode = "too_large";
    public const string MalformedCode = "malformed_json";
    public const string MissingFieldCode = "missing_field";
    public const string WrongTypeCode = "wrong_type";
    public const string OutOfRangeCode = "out_of_range";
    public const string ConflictCode = "conflict";

    /// <summary>An order id ingested before with other content: the first version is kept, this one dead-lettered.</summary>
    public static Rejection Conflict(string orderId) =>
        new(ConflictCode, $"order '{orderId}' was already ingested with different content; the first version is kept");
}
