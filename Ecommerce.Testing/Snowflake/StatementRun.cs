using Ecommerce.Consumer.Warehouse.Snowflake;

namespace Ecommerce.Testing.Snowflake;

/// <summary>
/// One submission the double ran: what kind of work it was, how many statements, when it started, and its time spent
/// until its first table lock was held (the statements before it, then waiting; for a batch transaction,
/// INGESTION_OFFSETS, for a modelling cycle LANDED_OUTCOMES), in the statement latency (Snowflake's own time) from then
/// on, and running on the double's database.
/// </summary>
public sealed record StatementRun(
    string? QueryTag, string Kind, int Statements, TimeSpan Started, TimeSpan LockWait, TimeSpan Latency, TimeSpan Execution, bool Succeeded)
{
    public TimeSpan Finished => Started + LockWait + Latency + Execution;

    /// <summary>The part of <see cref="Execution"/> spent waiting for the double's database, which runs one submission at a time.</summary>
    public TimeSpan DatabaseWait { get; init; }

    /// <summary>The start of the submission's first statement, to tell runs of one kind apart in a run log.</summary>
    public string Opening { get; init; } = "";

    /// <summary>stage (an insert into a staging table), transaction (a batch), cleanup (staged rows deleted), read, or other.</summary>
    public static string KindOf(IReadOnlyList<string> statements)
    {
        if (statements.Any(s => s.TrimStart().StartsWith("BEGIN", StringComparison.OrdinalIgnoreCase)))
        {
            return "transaction";
        }

        var first = statements.Count == 0 ? "" : statements[0].TrimStart();
        while (first.StartsWith("--", StringComparison.Ordinal))
        {
            var end = first.IndexOf('\n', StringComparison.Ordinal);
            first = end < 0 ? "" : first[(end + 1)..].TrimStart();
        }

        return first switch
        {
            _ when first.StartsWith("INSERT INTO " + SnowflakeWarehouseProvider.StagingTablePrefix, StringComparison.OrdinalIgnoreCase) => "stage",
            _ when first.StartsWith("DELETE FROM " + SnowflakeWarehouseProvider.StagingTablePrefix, StringComparison.OrdinalIgnoreCase) => "cleanup",
            _ when first.StartsWith("SELECT", StringComparison.OrdinalIgnoreCase) || first.StartsWith("WITH", StringComparison.OrdinalIgnoreCase) => "read",
            _ => "other",
        };
    }
}
