using Ecommerce.Consumer.Orders;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>A landed row a modelling transaction takes (by its landing and source position), and what it made of it.</summary>
public sealed record LandedClaim(string LandingId, IncomingOrder Order, string Outcome)
{
    public const string New = "NEW";
    public const string Duplicate = "DUPLICATE";
    public const string Conflict = "CONFLICT";

    public SourcePosition Source => Order.Source;

    private static readonly Column[] KeyColumns =
    [
        new("LANDING_ID", ColumnType.Text), new("SOURCE_TOPIC", ColumnType.Text), new("SOURCE_PARTITION", ColumnType.Integer),
        new("SOURCE_OFFSET", ColumnType.BigInt),
    ];

    /// <summary>
    /// The claims as ranges: each run of claims of one landing and partition at consecutive offsets with the same outcome
    /// becomes one <see cref="LandedClaimRange"/>. Every offset a range spans is one the cycle read, so a statement that
    /// joins the range with LANDED_ORDERS or LANDED_OUTCOMES finds exactly the rows it claimed (a landing holds each
    /// record once): no row that became visible after the read (a landing that failed part way commits its statements
    /// apart), none taken before it. A gap (an event that was dead-lettered instead of landed, a record another cycle
    /// took) starts a new range. Claims may come in any order; ranges come by their first offsets.
    /// </summary>
    public static IReadOnlyList<LandedClaimRange> Ranges(IEnumerable<LandedClaim> claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
        var ranges = new List<LandedClaimRange>();
        // Where each landing and partition's latest range is in the list: rows of several landings interleave in one
        // partition (a redelivery landed again by another process), so the run to extend is not always the last one.
        var open = new Dictionary<(string, string, int), int>();
        foreach (var claim in claims.OrderBy(c => c.Source.Offset))
        {
            var key = (claim.LandingId, claim.Source.Topic, claim.Source.Partition);
            var last = open.TryGetValue(key, out var index) ? ranges[index] : null;
            if (last is not null && claim.Source.Offset <= last.LastOffset)
            {
                // A range would count its row twice (the modeller takes each landed row once, by its full key).
                throw new ArgumentException(
                    $"Landed row {claim.LandingId} {claim.Source.Topic}[{claim.Source.Partition}]@{claim.Source.Offset} is claimed twice", nameof(claims));
            }

            if (last is not null && last.LastOffset + 1 == claim.Source.Offset && last.Outcome == claim.Outcome)
            {
                ranges[index] = last with { LastOffset = claim.Source.Offset };
            }
            else
            {
                open[key] = ranges.Count;
                ranges.Add(new LandedClaimRange(claim.LandingId, claim.Source.Topic, claim.Source.Partition, claim.Source.Offset, claim.Source.Offset, claim.Outcome));
            }
        }

        return ranges;
    }

    private static readonly Column[] RangeKeyColumns =
    [
        new("LANDING_ID", ColumnType.Text), new("SOURCE_TOPIC", ColumnType.Text), new("SOURCE_PARTITION", ColumnType.Integer),
        new("FIRST_OFFSET", ColumnType.BigInt), new("LAST_OFFSET", ColumnType.BigInt),
    ];

    /// <summary>Ranges of landed rows by their landings' ids, the {taken_ranges} that read_taken_claims.sql looks up.</summary>
    public static RowSet RangeKeys(IEnumerable<LandedClaimRange> ranges) =>
        new("taken_ranges", RangeKeyColumns, ranges.Select(r => new object?[] { r.LandingId, r.Topic, r.Partition, r.FirstOffset, r.LastOffset }).ToArray());

    /// <summary>Landed rows by their full keys, the {claims} that read_landed_records.sql looks up.</summary>
    public static RowSet Keys(IEnumerable<(string LandingId, SourcePosition Source)> rows) =>
        new("claims", KeyColumns, rows.Select(r => new object?[] { r.LandingId, r.Source.Topic, r.Source.Partition, r.Source.Offset }).ToArray());
}
