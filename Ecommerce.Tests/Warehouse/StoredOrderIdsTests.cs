using Ecommerce.Consumer.Ingestion;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Consumer.Orders;
using Ecommerce.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ecommerce.Tests.Warehouse;

/// <summary>The in-memory record of stored order ids that lets DuckDB skip looking up orders it never stored.</summary>
public sealed class StoredOrderIdsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(1_000)] // As a load of every stored id adds them.
    public void Every_id_added_is_reported_as_possibly_stored_also_after_the_filter_grew(int perCall)
    {
        // Far past the first segment's capacity, so that several segments are added on the way.
        var ids = new StoredOrderIds();
        var added = Enumerable.Range(0, 3_000_000).Select(i => $"order-{i}").ToArray();
        foreach (var group in added.Chunk(perCall))
        {
            if (perCall == 1)
            {
                ids.Add(group[0]);
            }
            else
            {
                ids.Add(group.AsSpan());
            }
        }

        Assert.All(added.Where((_, i) => i % 97 == 0), id => Assert.True(ids.MayContain(id), id));
        Assert.Equal(added.Length, ids.Count);
    }

    [Theory]
    [InlineData(3_000_000, 1)] // Sized for them, as a first start sizes it.
    [InlineData(0, 1)] // Too small (its least, about a million): it grows while the ids are read.
    [InlineData(3_000_000, 2)] // Two readers into one filter, as a load reads ranges side by side.
    [InlineData(0, 2)] // Two readers while it grows.
    public void Ids_read_from_a_reader_are_all_reported_as_possibly_stored(long sizedFor, int readers)
    {
        const int Count = 2_400_007; // Not a multiple of a group (1,024, then 32): the last, partial ones are added too.
        var ids = new StoredOrderIds(sizedFor);
        using var database = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
        database.Open();
        var added = new long[readers];
        Parallel.For(0, readers, new ParallelOptions { MaxDegreeOfParallelism = readers }, reader =>
        {
            using var connection = database.Duplicate();
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT 'order-' || i FROM range({reader}, {Count}, {readers}) t(i)";
            command.UseStreamingMode = true;
            using var rows = command.ExecuteReader();
            added[reader] = ids.Add(rows);
        });

        Assert.Equal(Count, added.Sum());
        Assert.Equal(Count, ids.Count);
        var missing = Enumerable.Range(0, Count).Where(i => !ids.MayContain($"order-{i}")).Take(5).ToArray();
        Assert.True(missing.Length == 0, $"ids read but reported as never added: {string.Join(", ", missing)}");
        var unknown = Enumerable.Range(0, 200_000).Count(i => ids.MayContain($"other-{i}"));
        Assert.True(unknown <= 20, $"{unknown} of 200,000 ids never added were reported as possibly stored");
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

        // A copy in the first format placed its bits otherwise: it is refused, and every id is read from the table.
        var formatOne = file.ToArray();
        BitConverter.GetBytes(0x3153_4449_5245_444FL).CopyTo(formatOne, 0);
        Assert.Null(StoredOrderIds.Read(new MemoryStream(formatOne)));
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
        // Half the threads add one id at a time, half in groups (as a load does), past the first segment's capacity.
        var ids = new StoredOrderIds();
        var perThread = 400_000;
        Parallel.For(0, 4, t =>
        {
            var added = Enumerable.Range(0, perThread).Select(i => $"t{t}-{i}").ToArray();
            foreach (var group in added.Chunk(t % 2 == 0 ? 1 : 1_000))
            {
                if (group.Length == 1)
                {
                    ids.Add(group[0]);
                }
                else
                {
                    ids.Add(group.AsSpan());
                }
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

    [Fact]
    public async Task A_start_after_a_crash_reads_the_saved_ids_and_only_the_ids_stored_after_them()
    {
        var saved = Orders("o", 0, 30);
        var later = Orders("o", 30, 7);
        using var crashed = new TempDirectory();
        await StoreAndCrashAsync(saved, later, crashed.File("warehouse.duckdb"));

        await using var restarted = new DuckDbWarehouseProvider($"Data Source={crashed.File("warehouse.duckdb")}");
        var fresh = Orders("n", 0, 3);
        var classification = await new StarSchemaWriter(restarted, TimeProvider.System).ClassifyAsync([.. saved, .. later, .. fresh], CancellationToken.None);

        Assert.Equal([.. saved, .. later], classification.Duplicates);
        Assert.Equal(fresh, classification.New);
        Assert.Equal(new StoredIdsLoad(FromSavedCopy: true, IdsReadFromFactTable: 7, TimeSpan.Zero), restarted.LastStoredIdsLoad! with { Elapsed = TimeSpan.Zero });
    }

    [Fact]
    public async Task Rows_deleted_by_hand_before_the_saved_mark_make_the_next_start_read_every_stored_id()
    {
        // DuckDB gives rows lower row ids when a checkpoint compacts row groups with deleted rows: orders stored after the
        // save then sit at row ids the saved copy claims to cover. The start must notice, and read every id again
        // (here the count of rows at or below the mark is even the same: only the order at the mark tells).
        var saved = Orders("o", 0, 30);
        var later = Orders("o", 30, 10);
        using var crashed = new TempDirectory();
        await StoreAndCrashAsync(saved, later, crashed.File("warehouse.duckdb"));

        using (var connection = new DuckDB.NET.Data.DuckDBConnection($"Data Source={crashed.File("warehouse.duckdb")}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CHECKPOINT";
            command.ExecuteNonQuery();
            command.CommandText = "DELETE FROM FACT_ORDERS WHERE ORDER_ID IN ('o-00000', 'o-00001', 'o-00002', 'o-00003', 'o-00004')";
            command.ExecuteNonQuery();
            command.CommandText = "INSERT INTO FACT_ORDERS SELECT * REPLACE ('by-hand' AS ORDER_ID) FROM FACT_ORDERS WHERE ORDER_ID = 'o-00039'";
            command.ExecuteNonQuery();
            command.CommandText = "CHECKPOINT";
            command.ExecuteNonQuery();

            // Compacted, the premise of this test: 36 rows at row ids 0 to 35, so as many at or below the saved mark
            // (29) as when it was saved, five of them stored after it.
            command.CommandText = "SELECT MAX(rowid) FROM FACT_ORDERS";
            Assert.Equal(35L, Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture)); // Compacted: the premise of this test.
        }

        await using var restarted = new DuckDbWarehouseProvider($"Data Source={crashed.File("warehouse.duckdb")}");
        var classification = await new StarSchemaWriter(restarted, TimeProvider.System).ClassifyAsync(later, CancellationToken.None);

        Assert.Equal(later, classification.Duplicates);
        Assert.False(restarted.LastStoredIdsLoad!.FromSavedCopy);
    }

    [Fact]
    public async Task A_copy_saved_at_a_clean_stop_is_read_from_either_file_and_only_with_its_token()
    {
        using var directory = new TempDirectory();
        var path = directory.File("warehouse.duckdb");
        var orders = Orders("o", 0, 5);
        await using (var provider = new DuckDbWarehouseProvider($"Data Source={path}"))
        {
            var writer = new StarSchemaWriter(provider, TimeProvider.System);
            await writer.EnsureSchemaAsync(CancellationToken.None);
            await writer.WriteAsync(orders, [], CancellationToken.None);
        }

        // As if the process died after the mark was committed and before the new file replaced the old one.
        File.Move(path + ".order-ids", path + ".order-ids.next");
        Assert.True(await LoadedFromSavedCopyAsync(path, orders));

        // A file of another save (its token is not the mark's) is not used. (The last start, finding no .order-ids,
        // saved the ids there again at its stop.)
        Assert.False(File.Exists(path + ".order-ids.next"));
        using (var file = new FileStream(path + ".order-ids", FileMode.Open))
        using (var writer = new BinaryWriter(file))
        {
            writer.Write(Guid.NewGuid().ToString("N"));
        }

        Assert.False(await LoadedFromSavedCopyAsync(path, orders));
    }

    [Fact]
    public async Task Reading_every_stored_id_leaves_the_memory_limit_of_the_connection_string_as_it_was()
    {
        // The read runs under a lower limit of its own (so that DuckDB does not keep the whole column cached).
        using var directory = new TempDirectory();
        var path = directory.File("warehouse.duckdb");
        var connection = $"Data Source={path};memory_limit=300MB";
        var orders = Orders("o", 0, 5);
        await using (var provider = new DuckDbWarehouseProvider(connection))
        {
            var writer = new StarSchemaWriter(provider, TimeProvider.System);
            await writer.EnsureSchemaAsync(CancellationToken.None);
            await writer.WriteAsync(orders, [], CancellationToken.None);
        }

        File.Delete(path + ".order-ids"); // Every id is read from the fact table at the next load.
        await using var restarted = new DuckDbWarehouseProvider(connection);
        var before = await restarted.QueryAsync(new SqlStatement("SELECT current_setting('memory_limit')"), CancellationToken.None);
        Assert.Equal(orders, (await new StarSchemaWriter(restarted, TimeProvider.System).ClassifyAsync(orders, CancellationToken.None)).Duplicates);

        Assert.False(restarted.LastStoredIdsLoad!.FromSavedCopy);
        Assert.Equal(before[0][0], (await restarted.QueryAsync(new SqlStatement("SELECT current_setting('memory_limit')"), CancellationToken.None))[0][0]);
    }

    [Fact]
    public async Task A_first_start_reads_every_row_of_a_fact_table_read_in_ranges_side_by_side_once()
    {
        // Over two million rows: read in ranges of row ids on two connections or more, each row in exactly one range.
        const int Stored = 2_100_001;
        using var directory = new TempDirectory();
        var path = directory.File("warehouse.duckdb");
        await using (var provider = new DuckDbWarehouseProvider($"Data Source={path}"))
        {
            await new StarSchemaWriter(provider, TimeProvider.System).EnsureSchemaAsync(CancellationToken.None);
            await provider.ExecuteScriptAsync($"""
                INSERT INTO FACT_ORDERS
                SELECT 'r-' || i, TIMESTAMP '2026-01-01' + to_seconds(i), DATE '2026-01-01', 'C000001', 1, 'P0001', 10.00, 1, 10.00,
                       'digest', 'orders', 0, i, TIMESTAMP '2026-11-01', NULL
                FROM range({Stored}) AS t(i)
                """, CancellationToken.None);
        }

        await using var restarted = new DuckDbWarehouseProvider($"Data Source={path}");
        var first = WarehouseTestBed.Order("r-0", T0);
        Assert.Equal([first], (await new StarSchemaWriter(restarted, TimeProvider.System).ClassifyAsync([first], CancellationToken.None)).Conflicts);

        Assert.False(restarted.LastStoredIdsLoad!.FromSavedCopy);
        Assert.Equal(Stored, restarted.StoredOrderIds!.Count);
        Assert.All(new[] { 0, 1_050_000, 1_050_001, Stored - 1 }, i => Assert.True(restarted.StoredOrderIds.MayContain($"r-{i}")));
    }

    [Fact]
    public async Task Warming_up_loads_the_stored_ids_before_any_batch_needs_them()
    {
        using var directory = new TempDirectory();
        var path = directory.File("warehouse.duckdb");
        var order = WarehouseTestBed.Order("o-1", T0);
        await using (var first = new DuckDbWarehouseProvider($"Data Source={path}"))
        {
            var writer = new StarSchemaWriter(first, TimeProvider.System);
            await writer.EnsureSchemaAsync(CancellationToken.None);
            await writer.WriteAsync([order], [], CancellationToken.None);
        }

        File.Delete(path + ".order-ids"); // A first start: every stored id is read from the fact table.
        await using var restarted = new DuckDbWarehouseProvider($"Data Source={path}");
        var lifetime = new Microsoft.Extensions.Hosting.Internal.ApplicationLifetime(NullLogger<Microsoft.Extensions.Hosting.Internal.ApplicationLifetime>.Instance);
        var restartedWriter = new StarSchemaWriter(restarted, TimeProvider.System);
        using var warmUp = new WarehouseWarmUp(restartedWriter, lifetime, NullLogger<WarehouseWarmUp>.Instance);
        await warmUp.StartAsync(CancellationToken.None);
        Assert.Null(restarted.LastStoredIdsLoad); // Not before every hosted service has started.

        lifetime.NotifyStarted();
        await warmUp.Ended.WaitAsync(TimeSpan.FromSeconds(30));
        var load = restarted.LastStoredIdsLoad;
        Assert.NotNull(load);
        Assert.False(load.FromSavedCopy);
        Assert.Equal([order], (await restartedWriter.ClassifyAsync([order], CancellationToken.None)).Duplicates);
        Assert.Same(load, restarted.LastStoredIdsLoad); // The batch did not load them again.
    }

    [Fact]
    public async Task A_private_in_memory_database_reads_its_stored_ids_too()
    {
        // Its ids are read on a duplicate of the writer's connection: another opened by the connection string would be
        // another, empty database.
        await using var provider = new DuckDbWarehouseProvider("Data Source=:memory:");
        var writer = new StarSchemaWriter(provider, TimeProvider.System);
        await writer.EnsureSchemaAsync(CancellationToken.None);
        var order = WarehouseTestBed.Order("o-1", T0);
        await writer.WriteAsync([order], [], CancellationToken.None);

        Assert.Equal([order], (await writer.ClassifyAsync([order], CancellationToken.None)).Duplicates);
        Assert.Equal(1, provider.StoredOrderIds!.Count);
    }

    [Fact]
    public async Task A_plain_read_of_a_private_in_memory_database_sees_what_was_written()
    {
        // Plain reads run on a connection of their own; for ":memory:" it must be a duplicate of the writer's, not
        // another (empty) database opened by the same connection string.
        await using var provider = new DuckDbWarehouseProvider("Data Source=:memory:");
        var writer = new StarSchemaWriter(provider, TimeProvider.System);
        await writer.EnsureSchemaAsync(CancellationToken.None);
        await writer.WriteAsync([WarehouseTestBed.Order("o-1", T0)], [], CancellationToken.None);

        var rows = await provider.QueryAsync(new SqlStatement("SELECT COUNT(*) FROM FACT_ORDERS"), CancellationToken.None);

        Assert.Equal(1L, rows[0][0]);
    }

    private static async Task<bool> LoadedFromSavedCopyAsync(string path, IReadOnlyList<IncomingOrder> stored)
    {
        await using var provider = new DuckDbWarehouseProvider($"Data Source={path}");
        var classification = await new StarSchemaWriter(provider, TimeProvider.System).ClassifyAsync(stored, CancellationToken.None);
        Assert.Equal(stored, classification.Duplicates);
        return provider.LastStoredIdsLoad!.FromSavedCopy;
    }

    private static List<IncomingOrder> Orders(string prefix, int first, int count) =>
        Enumerable.Range(first, count).Select(i => WarehouseTestBed.Order($"{prefix}-{i:D5}", T0.AddMinutes(i))).ToList();

    /// <summary>
    /// Stores <paramref name="saved"/> (saved beside the file in the background, as many as a save waits for), then
    /// <paramref name="later"/>, and leaves at <paramref name="crashedPath"/> the files as a process killed then would
    /// leave them: every batch committed, the later ids never saved.
    /// </summary>
    private static async Task StoreAndCrashAsync(List<IncomingOrder> saved, List<IncomingOrder> later, string crashedPath)
    {
        using var directory = new TempDirectory();
        var path = directory.File("warehouse.duckdb");
        await using var provider = new DuckDbWarehouseProvider($"Data Source={path}", saveStoredIdsEvery: saved.Count);
        var writer = new StarSchemaWriter(provider, TimeProvider.System);
        await writer.EnsureSchemaAsync(CancellationToken.None);
        await writer.WriteAsync(saved, [], CancellationToken.None);
        await provider.StoredIdsSaved;
        await writer.WriteAsync(later, [], CancellationToken.None);
        CopyWarehouse(path, crashedPath);
    }

    /// <summary>The warehouse file, its log and the saved ids, copied while the provider is open and idle.</summary>
    private static void CopyWarehouse(string from, string to)
    {
        foreach (var suffix in new[] { "", ".wal", ".order-ids", ".order-ids.next" })
        {
            if (File.Exists(from + suffix))
            {
                File.Copy(from + suffix, to + suffix);
            }
        }
    }
}
