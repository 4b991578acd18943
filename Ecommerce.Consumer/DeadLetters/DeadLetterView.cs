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

/// <summary>The topic, partition and offset an event was read from before it was refused.</summary>
public sealed record DeadLetterSource(string? Topic, int? Partition, long? Offset);

/// <summary>A page of dead letters, newest first.</summary>
/// <param name="Matching">How many dead letters match the filter (of those scanned).</param>
/// <param name="Scanned">How many dead letters were read to answer.</param>
/// <param name="ScanLimitReached">Whether the topic holds more than one request reads; the oldest were not seen.</param>
/// <param name="ByCode">How many of the dead letters in the time filter there are of each reason code (whatever the code filter).</param>
public sealed record DeadLetterPage(int Matching, int Scanned, bool ScanLimitReached, IReadOnlyDictionary<string, int> ByCode, IReadOnlyList<DeadLetterView> Items);

/// <summary>Which dead letters to send to the orders topic again.</summary>
public sealed record ReplayRequest(IReadOnlyList<DeadLetterPosition>? DeadLetters);

/// <summary>A dead letter's place on the dead-letter topic, as listed.</summary>
public sealed record DeadLetterPosition(int Partition, long Offset);

/// <summary>What happened to one dead letter of a replay: sent again (where to), or why not.</summary>
public sealed record ReplayResult(int Partition, long Offset, bool Replayed, string? Error, int? OrdersPartition, long? OrdersOffset);
