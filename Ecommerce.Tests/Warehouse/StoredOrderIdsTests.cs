using Ecommerce.Consumer.Warehouse;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Warehouse;

/// <summary>The in-memory record of stored order ids that lets DuckDB skip looking up orders it never stored.</summary>
public sealed class StoredOrderIdsTests
{
    [Fact]
    public void Every_id_added_is_reported_as_possibly_stored_also_after_the_filter_grew()
    {
        // Far past the first segment's capacity, so that several segments are added on the way.
        var ids = new StoredOrderIds();
        var added = Enumerable.Range(0, 3_000_000).Select(i => $"order-{i}").ToArray();
        foreach (var id in added)
        {
            ids.Add(id);
        }

        Assert.All(added.Where((_, i) => i % 97 == 0), id => Assert.True(ids.MayContain(id), id));
        Assert.Equal(added.Length, ids.Count);
    }

    [Fact]
    public void A_filter_written_and_read_back_reports_the_same_ids_and_a_torn_file_is_refused()
    {
        var ids = new StoredOrderIds();
        var added = Enumerable.Range(0, 1_500_000).Select(i => $"order-{i}").ToArray(); // Two segments.
        foreach (var id in added)
        {
            ids.Add(id);
        }

        using var file = new MemoryStream();
        ids.Write(file);
        file.Position = 0;
        var read = StoredOrderIds.Read(file);

        Assert.NotNull(read);
        Assert.Equal(ids.Count, read.Count);
        Assert.All(added.Where((_, i) => i % 101 == 0), id => Assert.True(read.MayContain(id), id));
        var unknown = Enumerable.Range(0, 10_000).Select(i => $"other-{i}").ToArray();
        Assert.Equal(unknown.Count(ids.MayContain), unknown.Count(read.MayContain));
        Assert.Null(StoredOrderIds.Read(new MemoryStream(file.ToArray()[..(int)(file.Length / 2)])));
    }

    [Fact]
    public void Ids_never_added_are_almost_never_reported_as_stored()
    {
        var ids = new StoredOrderIds(1_000_000);
        for (var i = 0; i < 1_000_000; i++)
        {
            ids.Add(Guid.NewGuid().ToString());
        }

        // Designed for about one in a million; more than 20 in two million would mean the bits are badly spread, and
        // batches of new orders would keep paying for a look-up in the fact table.
        var falsePositives = Enumerable.Range(0, 2_000_000).Count(_ => ids.MayContain(Guid.NewGuid().ToString()));
        Assert.True(falsePositives <= 20, $"{falsePositives} of 2,000,000 unknown ids were reported as possibly stored");
    }

    [Fact]
    public void Adding_from_several_threads_loses_no_id()
    {
        var ids = new StoredOrderIds();
        var perThread = 400_000;
        Parallel.For(0, 4, t =>
        {
            for (var i = 0; i < perThread; i++)
            {
                ids.Add($"t{t}-{i}");
            }
        });

        for (var t = 0; t < 4; t++)
        {
            for (var i = 0; i < perThread; i += 13)
            {
                Assert.True(ids.MayContain($"t{t}-{i}"));
            }
        }
    }
}

/// <summary>The ids a DuckDB file holds, as its providers know them: read from the file, shared, kept up to date.</summary>
[Trait("Category", "Fast")]
public sealed class DuckDbStoredOrderIdsTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task A_provider_opened_later_knows_the_orders_stored_before_it()
    {
        // As after a restart: nothing of the first provider is left in this process, so the second reads the file.
        using var directory = new TempDirectory();
        var connection = $"Data Source={directory.File("warehouse.duckdb")}";
        var order = WarehouseTestBed.Order("o-1", T0);
        await using (var first = new DuckDbWarehouseProvider(connection))
        {
            var writer = new StarSchemaWriter(first, TimeProvider.System);
            await writer.EnsureSchemaAsync(CancellationToken.None);
            await writer.WriteAsync([order], [], CancellationToken.None);
        }

        await using var second = new DuckDbWarehouseProvider(connection);
        var conflicting = WarehouseTestBed.Order("o-1", T0, quantity: 5);
        var fresh = WarehouseTestBed.Order("o-2", T0);
        var classification = await new StarSchemaWriter(second, TimeProvider.System).ClassifyAsync([order, conflicting, fresh], CancellationToken.None);

        Assert.Equal([order], classification.Duplicates);
        Assert.Equal([conflicting], classification.Conflicts);
        Assert.Equal([fresh], classification.New);
        Assert.True(second.StoredOrderIds!.MayContain("o-1"));
    }

    [Fact]
    public async Task Two_providers_of_one_file_see_each_others_orders_at_once()
    {
        using var directory = new TempDirectory();
        var connection = $"Data Source={directory.File("warehouse.duckdb")}";
        await using var first = new DuckDbWarehouseProvider(connection);
        await using var second = new DuckDbWarehouseProvider(connection);
        var one = new StarSchemaWriter(first, TimeProvider.System);
        var other = new StarSchemaWriter(second, TimeProvider.System);
        await one.EnsureSchemaAsync(CancellationToken.None);

        // The other writer learns of the order before its first look-up, and stores nothing twice.
        Assert.Single((await other.ClassifyAsync([WarehouseTestBed.Order("o-0", T0)], CancellationToken.None)).New);
        var order = WarehouseTestBed.Order("o-1", T0);
        await one.WriteAsync([order], [], CancellationToken.None);

        Assert.Equal([order], (await other.ClassifyAsync([order], CancellationToken.None)).Duplicates);
        await Assert.ThrowsAsync<StaleReadException>(() => other.WriteAsync([order], [], CancellationToken.None));
    }
}
