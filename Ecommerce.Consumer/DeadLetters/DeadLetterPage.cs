namespace Ecommerce.Consumer.DeadLetters;

/// <summary>A page of dead letters, newest first.</summary>
/// <param name="Matching">How many dead letters match the filter (of those scanned).</param>
/// <param name="Scanned">How many dead letters were read to answer.</param>
/// <param name="ScanLimitReached">Whether the topic holds more than one request reads; the oldest were not seen.</param>
/// <param name="ByCode">How many of the dead letters in the time filter there are of each reason code (whatever the code filter).</param>
public sealed record DeadLetterPage(int Matching, int Scanned, bool ScanLimitReached, IReadOnlyDictionary<string, int> ByCode, IReadOnlyList<DeadLetterView> Items);
