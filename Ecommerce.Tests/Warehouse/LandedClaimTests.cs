using Ecommerce.Consumer.Orders;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Tests.Warehouse;

/// <summary>How a modelling cycle's claims are staged: as ranges that span only offsets the cycle read.</summary>
public sealed class LandedClaimTests
{
    [Fact]
    public void Consecutive_offsets_of_one_landing_and_partition_with_one_outcome_make_one_range()
    {
        var ranges = LandedClaim.Ranges([Claim("A", 0, 5), Claim("A", 0, 6), Claim("A", 0, 7), Claim("A", 1, 7), Claim("A", 1, 8)]);

        Assert.Equal([Range("A", 0, 5, 7), Range("A", 1, 7, 8)], ranges);
    }

    [Fact]
    public void A_gap_in_the_offsets_or_another_outcome_starts_a_new_range()
    {
        // Offset 3 is not claimed (dead-lettered, or not visible when the cycle read); offset 5 is a duplicate.
        var ranges = LandedClaim.Ranges(
        [
            Claim("A", 0, 1), Claim("A", 0, 2), Claim("A", 0, 4), Claim("A", 0, 5, LandedClaim.Duplicate), Claim("A", 0, 6),
        ]);

        Assert.Equal(
            [Range("A", 0, 1, 2), Range("A", 0, 4, 4), Range("A", 0, 5, 5, LandedClaim.Duplicate), Range("A", 0, 6, 6)],
            ranges);
    }

    [Fact]
    public void Landings_interleaved_in_one_partition_keep_a_range_each()
    {
        // B landed offsets 2 to 4 again (a partition that moved to another process) while A's rows run on, as a cycle
        // reads them: by offset, then landing.
        var ranges = LandedClaim.Ranges(
        [
            Claim("A", 0, 1), Claim("A", 0, 2), Claim("B", 0, 2, LandedClaim.Duplicate), Claim("A", 0, 3),
            Claim("B", 0, 3, LandedClaim.Duplicate), Claim("A", 0, 4), Claim("B", 0, 4, LandedClaim.Duplicate),
        ]);

        Assert.Equal([Range("A", 0, 1, 4), Range("B", 0, 2, 4, LandedClaim.Duplicate)], ranges);
    }

    [Fact]
    public void Claims_in_any_order_make_the_same_ranges_and_topics_keep_theirs()
    {
        var ranges = LandedClaim.Ranges([Claim("A", 0, 7), Claim("A", 0, 5, topic: "returns"), Claim("A", 0, 6), Claim("A", 0, 5)]);

        Assert.Equal([Range("A", 0, 5, 5, topic: "returns"), Range("A", 0, 5, 7)], ranges);
    }

    [Fact]
    public void A_landed_row_claimed_twice_is_refused_rather_than_counted_twice()
    {
        Assert.Throws<ArgumentException>(() => LandedClaim.Ranges([Claim("A", 0, 5), Claim("A", 0, 6), Claim("A", 0, 6, LandedClaim.Duplicate)]));
    }

    private static LandedClaim Claim(string landing, int partition, long offset, string outcome = LandedClaim.New, string topic = "orders") =>
        new(landing, new IncomingOrder(
            new ParsedOrder($"o-{partition}-{offset}", new DateTime(2026, 12, 5, 10, 0, 0, DateTimeKind.Utc), "C1", "Ann", "North", "p-1", "Lamp", "Home", 2.5m, 1),
            "digest", new SourcePosition(topic, partition, offset), default), outcome);

    private static LandedClaimRange Range(string landing, int partition, long first, long last, string outcome = LandedClaim.New, string topic = "orders") =>
        new(landing, topic, partition, first, last, outcome);
}
