using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Tests.Warehouse;

/// <summary>
/// The rules by which a writer's held customer versions stay exact (<see cref="CustomerVersionCache"/>): whatever it
/// gives a plan is what a read at the plan's commit count would give, or it gives nothing and the plan reads.
/// StarSchemaWriterTests checks the same through a real warehouse and a second writer.
/// </summary>
[Trait("Category", "Fast")]
public sealed class CustomerVersionCacheTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    private static CustomerVersion Version(string customer, long sk, string region = "North", long orders = 1, DateTime? at = null) =>
        new(sk, customer, "Ada", region, at ?? T0, null, at ?? T0, orders);

    private static KeyValuePair<string, IReadOnlyList<CustomerVersion>> History(params CustomerVersion[] versions) =>
        KeyValuePair.Create(versions[0].CustomerId, (IReadOnlyList<CustomerVersion>)versions);

    [Fact]
    public void What_was_read_is_held_at_that_count_and_only_there()
    {
        var cache = new CustomerVersionCache();
        Assert.Equal(["C1", "C2"], cache.Take(10, ["C1", "C2"]).ToRead);
        cache.Fill(10, ["C1", "C2"], [Version("C1", 1)]);

        var (held, toRead) = cache.Take(10, ["C1", "C2", "C3"]);
        Assert.Equal([Version("C1", 1)], held);
        Assert.Equal(["C3"], toRead); // C2 is held as having no version.

        // Anything committed since (the count moved without the cache): nothing held is used, and it is let go.
        Assert.Equal(["C1", "C2"], cache.Take(11, ["C1", "C2"]).ToRead);
        Assert.Equal(["C1"], cache.Take(11, ["C1"]).ToRead);
    }

    [Fact]
    public void A_read_that_a_commit_overtook_is_not_held()
    {
        var cache = new CustomerVersionCache();
        cache.Take(10, ["C1"]);
        cache.Take(12, ["C2"]); // A later plan: the cache is valid at 12 now.

        cache.Fill(10, ["C1"], [Version("C1", 1)]);

        Assert.Equal(["C1"], cache.Take(12, ["C1"]).ToRead);
    }

    [Fact]
    public void A_plan_made_before_the_cache_moved_reads_everything_and_leaves_the_cache_as_it_is()
    {
        var cache = new CustomerVersionCache();
        cache.Take(10, ["C1"]);
        cache.Fill(10, ["C1"], [Version("C1", 1)]);
        cache.Committed(new CommitSequenceSpan(10, 11), 10, [History(Version("C1", 1, orders: 2))]);

        Assert.Equal(["C1"], cache.Take(10, ["C1"]).ToRead);
        Assert.Equal([Version("C1", 1, orders: 2)], cache.Take(11, ["C1"]).Held);
    }

    [Fact]
    public void A_commit_follows_the_cache_only_from_where_it_was_valid()
    {
        // Planned and committed where the cache was valid: the histories written are held, valid after the commit.
        var cache = new CustomerVersionCache();
        cache.Take(10, ["C1"]);
        cache.Committed(new CommitSequenceSpan(10, 11), 10, [History(Version("C1", 1))]);
        Assert.Equal([Version("C1", 1)], cache.Take(11, ["C1"]).Held);

        // Another transaction committed between (11 to 12, not seen here): this one's span begins at 12.
        cache.Committed(new CommitSequenceSpan(12, 13), 11, [History(Version("C2", 2))]);
        Assert.Equal(["C1", "C2"], cache.Take(13, ["C1", "C2"]).ToRead);

        // Planned at another count than the cache's, even if the span begins where it is valid: the transaction wrote
        // what the currency check let through, not what was held, so the cache lets go.
        cache.Fill(13, ["C1"], [Version("C1", 1)]);
        cache.Committed(new CommitSequenceSpan(13, 14), 12, [History(Version("C2", 2))]);
        Assert.Equal(["C1"], cache.Take(14, ["C1"]).ToRead);
    }

    [Fact]
    public void A_customer_with_a_time_finer_than_a_microsecond_is_not_held()
    {
        var cache = new CustomerVersionCache();
        cache.Take(10, ["C1", "C2"]);
        cache.Committed(new CommitSequenceSpan(10, 11), 10,
            [History(Version("C1", 1, at: T0.AddTicks(5))), History(Version("C2", 2, at: T0.AddTicks(10)))]);

        var (held, toRead) = cache.Take(11, ["C1", "C2"]);
        Assert.Equal([Version("C2", 2, at: T0.AddTicks(10))], held);
        Assert.Equal(["C1"], toRead);
    }

    [Fact]
    public void Past_its_capacity_the_cache_starts_again()
    {
        var cache = new CustomerVersionCache(capacity: 2);
        cache.Take(10, ["C1", "C2", "C3"]);
        cache.Fill(10, ["C1", "C2"], [Version("C1", 1), Version("C2", 2)]);
        cache.Fill(10, ["C3"], [Version("C3", 3)]);

        var (held, toRead) = cache.Take(10, ["C1", "C2", "C3"]);
        Assert.Equal([Version("C3", 3)], held);
        Assert.Equal(["C1", "C2"], toRead);
    }
}
