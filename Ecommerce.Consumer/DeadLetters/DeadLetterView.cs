namespace Ecommerce.Consumer.DeadLetters;

/// <summary>
/// One dead letter as the API shows it. The event's bytes are never interpreted: its value is given as text when it
/// is UTF-8 (JSON-escaped on the way out, so nothing in it can break the page that shows it), otherwise in base64.
/// </summary>
/// <param name="Partition">Where the dead letter is on the dead-letter topic (with <paramref name="Offset"/>: its id for a replay).</param>
/// <param name="Code">The stable reason code (<c>malformed_json</c>, <c>out_of_range</c>, <c>conflict</c>, ...).</param>
/// <param name="Reason">The sentence saying what was wrong.</param>
/// <param name="Source">Where the event was read.</param>
/// <param name="ValueShownBytes">How many bytes of the value are shown here (the listing cuts long values).</param>
/// <param name="ValueBytes">How many bytes of the value the dead letter holds.</param>
/// <param name="OriginalValueBytes">The event's size when the dead letter holds only its first bytes; then it cannot be replayed.</param>
public sealed record DeadLetterView(
    int Partition,
    long Offset,
    string? Code,
    string? Reason,
    DateTimeOffset? FailedAt,
    DeadLetterSource? Source,
    string? Key,
    string? Value,
    string? ValueBase64,
    int ValueShownBytes,
    int ValueBytes,
    long? OriginalValueBytes,
    bool Replayable);
