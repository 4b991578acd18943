using System.Globalization;
using Ecommerce.Consumer.Orders;
using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Tests.Warehouse;

/// <summary>
/// The warehouse contract: the same batches give the same tables on every warehouse. Each test runs once per
/// provider (the derived classes below), DuckDB directly and Snowflake through its SQL API test double.
/// </summary>
public abstract class StarSchemaWriterTests
{
    private static readonly DateTime T0 = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);
    private static readonly string[] TrickyIds = ["o'1", "o''1", "o\\'2", "o\"3", "o'); DROP TABLE FACT_ORDERS; --"];

    protected abstract string Warehouse { get; }

    [Fact]
    public async Task Order_ids_with_quotes_and_backslashes_are_looked_up_as_written()
    {
        // Ids travel into the lookups as row sets (appended on DuckDB, one JSON text on Snowflake): nothing in them may
        // end a string or match another id.
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        var tricky = TrickyIds.Select((id, i) => WarehouseTestBed.Order(id, T0.AddMinutes(i)))
            .ToArray();

        var first = await bed.IngestAsync(tricky);
        var again = await bed.IngestAsync(tricky);

        Assert.Equal(tricky.Length, first.New.Count);
        Assert.Equal(tricky.Length, again.Duplicates.Count);
        Assert.Equal(tricky.Length, await bed.CountAsync("FACT_ORDERS"));
        Assert.Equal(tricky.Select(o => o.Order.OrderId).Order(StringComparer.Ordinal),
            (await bed.QueryAsync("SELECT ORDER_ID FROM FACT_ORDERS")).Select(r => (string)r[0]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_order_delivered_again_is_a_duplicate_and_stored_once()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        var order = WarehouseTestBed.Order("o-1", T0, price: 19.99m, quantity: 3);

        var first = await bed.IngestAsync(order);
        var again = await bed.IngestAsync(order, order);

        Assert.Single(first.New);
        Assert.Empty(again.New);
        Assert.Equal(2, again.Duplicates.Count);
        Assert.Equal(1, await bed.CountAsync("FACT_ORDERS"));
        var row = (await bed.QueryAsync("SELECT PRICE, QUANTITY, TOTAL_AMOUNT, ORDER_DATE FROM FACT_ORDERS"))[0];
        Assert.Equal(19.99m, row[0]);
        Assert.Equal(3L, row[1]);
        Assert.Equal(59.97m, row[2]);
        Assert.Equal(new DateOnly(2026, 3, 1), row[3]);
    }

    [Fact]
    public async Task The_same_order_id_with_other_content_is_a_conflict_and_the_first_version_is_kept()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.IngestAsync(WarehouseTestBed.Order("o-1", T0, quantity: 1));

        var later = await bed.IngestAsync(WarehouseTestBed.Order("o-1", T0, quantity: 7));
        var inOneBatch = await bed.IngestAsync(WarehouseTestBed.Order("o-2", T0, quantity: 1), WarehouseTestBed.Order("o-2", T0, quantity: 2));

        Assert.Single(later.Conflicts);
        Assert.Single(inOneBatch.New);
        Assert.Single(inOneBatch.Conflicts);
        Assert.Equal(2, inOneBatch.Conflicts[0].Order.Quantity);
        var quantities = (await bed.QueryAsync("SELECT ORDER_ID, QUANTITY FROM FACT_ORDERS ORDER BY ORDER_ID")).Select(r => (r[0], r[1])).ToArray();
        Assert.Equal([("o-1", (object?)1L), ("o-2", (object?)1L)], quantities);
    }

    [Fact]
    public async Task A_change_of_region_in_order_opens_a_new_version_and_closes_the_old_one()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.IngestAsync(WarehouseTestBed.Order("o-1", T0, region: "North"));
        await bed.IngestAsync(WarehouseTestBed.Order("o-2", T0.AddDays(1), region: "North"));
        await bed.IngestAsync(WarehouseTestBed.Order("o-3", T0.AddDays(2), region: "South"));

        var versions = await bed.VersionsAsync("C1");
        Assert.Equal(2, versions.Count);
        Assert.Equal(("North", T0, (DateTime?)T0.AddDays(2), false), (versions[0].Region, versions[0].From, versions[0].To, versions[0].Current));
        Assert.Equal(("South", T0.AddDays(2), (DateTime?)null, true), (versions[1].Region, versions[1].From, versions[1].To, versions[1].Current));
        Assert.Equal(new Dictionary<string, string> { ["o-1"] = "North", ["o-2"] = "North", ["o-3"] = "South" }, await bed.RegionAtOrderTimeAsync());
    }

    [Fact]
    public async Task A_late_event_splits_the_version_it_falls_into_and_later_orders_are_repointed()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.IngestAsync(WarehouseTestBed.Order("o-1", T0, region: "North"), WarehouseTestBed.Order("o-3", T0.AddDays(2), region: "North"));

        // Arrives last, happened in between: the customer was in the South on day 1.
        await bed.IngestAsync(WarehouseTestBed.Order("o-2", T0.AddDays(1), region: "South"));

        var versions = await bed.VersionsAsync("C1");
        Assert.Equal(
            [("North", T0, (DateTime?)T0.AddDays(1)), ("South", T0.AddDays(1), T0.AddDays(2)), ("North", T0.AddDays(2), null)],
            versions.Select(v => (v.Region, v.From, v.To)));
        Assert.Equal([false, false, true], versions.Select(v => v.Current));
        Assert.Equal(new Dictionary<string, string> { ["o-1"] = "North", ["o-2"] = "South", ["o-3"] = "North" }, await bed.RegionAtOrderTimeAsync());
    }

    [Fact]
    public async Task Several_changes_of_one_customer_in_one_batch_all_land_in_time_order_whatever_the_arrival_order()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.IngestAsync(
            WarehouseTestBed.Order("o-4", T0.AddHours(4), region: "North", name: "Ada King"),
            WarehouseTestBed.Order("o-2", T0.AddHours(2), region: "South"),
            WarehouseTestBed.Order("o-1", T0.AddHours(1), region: "North"),
            WarehouseTestBed.Order("o-3", T0.AddHours(3), region: "East"),
            WarehouseTestBed.Order("o-5", T0.AddHours(5), region: "North", name: "Ada King"));

        var versions = await bed.VersionsAsync("C1");
        Assert.Equal(
            [("Ada", "North", T0.AddHours(1)), ("Ada", "South", T0.AddHours(2)), ("Ada", "East", T0.AddHours(3)), ("Ada King", "North", T0.AddHours(4))],
            versions.Select(v => (v.Name, v.Region, v.From)));
        Assert.Single(versions, v => v.Current);
        Assert.Equal(versions.Select(v => v.From).Skip(1), versions.Take(3).Select(v => v.To!.Value));
    }

    [Fact]
    public async Task An_event_older_than_the_whole_history_extends_or_prepends_a_version()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.IngestAsync(WarehouseTestBed.Order("o-2", T0.AddDays(2), region: "North"));
        await bed.IngestAsync(WarehouseTestBed.Order("o-1", T0.AddDays(1), region: "North"));
        await bed.IngestAsync(WarehouseTestBed.Order("o-0", T0, region: "West"));

        var versions = await bed.VersionsAsync("C1");
        Assert.Equal([("West", T0, (DateTime?)T0.AddDays(1)), ("North", T0.AddDays(1), null)], versions.Select(v => (v.Region, v.From, v.To)));
        Assert.Equal(new Dictionary<string, string> { ["o-0"] = "West", ["o-1"] = "North", ["o-2"] = "North" }, await bed.RegionAtOrderTimeAsync());
    }

    [Fact]
    public async Task Late_events_that_split_stored_versions_in_a_later_batch_keep_every_history_exact()
    {
        // Phase 1: 20 customers order in the North on days 0, 2 and 4; 20 others in the East on day 0.
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        var north = Enumerable.Range(1, 20).Select(i => $"N{i}").ToArray();
        var east = Enumerable.Range(1, 20).Select(i => $"E{i}").ToArray();
        await bed.IngestAsync([
            .. north.SelectMany(c => Enumerable.Range(0, 3).Select(i => 2 * i).Select(d => WarehouseTestBed.Order($"{c}-d{d}", T0.AddDays(d), customerId: c, region: "North"))),
            .. east.Select(c => WarehouseTestBed.Order($"{c}-d0", T0, customerId: c, region: "East")),
        ]);

        // Phase 2, one later batch: each North customer's late order from the South on day 1, 20 new customers, and
        // the East customers moving West on day 3.
        var fresh = Enumerable.Range(1, 20).Select(i => $"F{i}").ToArray();
        await bed.IngestAsync([
            .. north.Select(c => WarehouseTestBed.Order($"{c}-d1", T0.AddDays(1), customerId: c, region: "South")),
            .. fresh.Select(c => WarehouseTestBed.Order($"{c}-d0", T0, customerId: c, region: "North")),
            .. east.Select(c => WarehouseTestBed.Order($"{c}-d3", T0.AddDays(3), customerId: c, region: "West")),
        ]);

        // Every fact joins exactly one version, and that version is valid at the fact's time.
        var joined = await bed.QueryAsync(
            "SELECT f.ORDER_ID, COUNT(c.CUSTOMER_SK), MIN(CASE WHEN f.ORDER_TIMESTAMP >= c.VALID_FROM AND (c.VALID_TO IS NULL OR f.ORDER_TIMESTAMP < c.VALID_TO) THEN 1 ELSE 0 END) " +
            "FROM FACT_ORDERS f LEFT JOIN DIM_CUSTOMER c ON c.CUSTOMER_SK = f.CUSTOMER_SK GROUP BY f.ORDER_ID");
        Assert.Equal(140, joined.Count);
        Assert.All(joined, row => Assert.Equal((1L, 1L), ((long)row[1]!, Convert.ToInt64(row[2], CultureInfo.InvariantCulture))));

        foreach (var customer in north)
        {
            Assert.Equal(
                [("North", T0, (DateTime?)T0.AddDays(1), 1L), ("South", T0.AddDays(1), T0.AddDays(2), 1L), ("North", T0.AddDays(2), null, 2L)],
                (await OrderCountsAsync(bed, customer)).Select(v => (v.Region, v.From, v.To, v.Orders)));
        }

        foreach (var customer in east)
        {
            Assert.Equal([("East", T0, (DateTime?)T0.AddDays(3), 1L), ("West", T0.AddDays(3), null, 1L)],
                (await OrderCountsAsync(bed, customer)).Select(v => (v.Region, v.From, v.To, v.Orders)));
        }

        foreach (var customer in fresh)
        {
            Assert.Equal([("North", T0, (DateTime?)null, 1L)], (await OrderCountsAsync(bed, customer)).Select(v => (v.Region, v.From, v.To, v.Orders)));
        }

        Assert.Equal(60, await bed.CountAsync("DIM_CUSTOMER WHERE IS_CURRENT"));
    }

    [Fact]
    public async Task Orders_at_the_same_instant_are_ranked_by_order_id_whatever_arrives_first()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.IngestAsync(WarehouseTestBed.Order("o-2", T0, region: "South", productName: "Laptop S"));
        await bed.IngestAsync(WarehouseTestBed.Order("o-1", T0, region: "North", productName: "Laptop N"));
        await bed.IngestAsync(WarehouseTestBed.Order("o-3", T0, region: "East", productName: "Laptop E"));

        Assert.Equal([("North", T0, (DateTime?)null, 3L)], (await OrderCountsAsync(bed, "C1")).Select(v => (v.Region, v.From, v.To, v.Orders)));
        Assert.Equal("Laptop N", (await bed.QueryAsync("SELECT PRODUCT_NAME FROM DIM_PRODUCT"))[0][0]);
        Assert.Equal(new Dictionary<string, string> { ["o-1"] = "North", ["o-2"] = "North", ["o-3"] = "North" }, await bed.RegionAtOrderTimeAsync());
    }

    [Fact]
    public async Task A_write_whose_customers_another_writer_changed_after_its_reads_is_refused_and_writes_nothing()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.IngestAsync(WarehouseTestBed.Order("o-1", T0, region: "North"), WarehouseTestBed.Order("o-3", T0.AddDays(2), region: "North"));
        var second = new StarSchemaWriter(bed.OpenAnotherProvider(), bed.Time);

        // The first writer reads the customer; the second then stores a late order of the same customer (another
        // partition: orders not keyed by customer); the first writer's transaction must not build on its old reads.
        var overtaken = new Differential.InterceptingWarehouse(bed.Provider)
        {
            BeforeNextTransaction = () => second.WriteAsync([WarehouseTestBed.Order("o-2", T0.AddDays(1), region: "North")], [], CancellationToken.None),
        };
        var first = new StarSchemaWriter(overtaken, bed.Time);
        var late = WarehouseTestBed.Order("o-1b", T0.AddDays(1).AddHours(1), region: "South");

        await Assert.ThrowsAsync<StaleReadException>(() => first.WriteAsync([late], [], CancellationToken.None));
        Assert.Equal(3, await bed.CountAsync("FACT_ORDERS"));

        // Read again, it lands where the second writer's order says: South from day 1 + 1 h until day 2.
        await first.WriteAsync((await first.ClassifyAsync([late], CancellationToken.None)).New, [], CancellationToken.None);
        Assert.Equal(
            [("North", T0, (DateTime?)T0.AddDays(1).AddHours(1), 2L), ("South", T0.AddDays(1).AddHours(1), T0.AddDays(2), 1L), ("North", T0.AddDays(2), null, 1L)],
            (await OrderCountsAsync(bed, "C1")).Select(v => (v.Region, v.From, v.To, v.Orders)));
    }

    [Fact]
    public async Task Customers_another_writer_changed_between_two_batches_are_planned_as_stored_not_as_last_written()
    {
        // A writer that keeps its customers' versions from batch to batch (on DuckDB, which counts its commits) must let
        // them go when another writer commits: here a second writer opens a South version of C1 between this writer's
        // plan and write of a batch of C2 only.
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        var writer = bed.Writer;
        await PlanAndWriteAsync(writer, WarehouseTestBed.Order("o-1", T0, region: "North"), WarehouseTestBed.Order("o-9", T0, customerId: "C2"));
        var ofC2 = await writer.PlanAsync([WarehouseTestBed.Order("o-10", T0.AddDays(1), customerId: "C2")], CancellationToken.None);
        var second = new StarSchemaWriter(bed.OpenAnotherProvider(), bed.Time);
        await second.WriteAsync([WarehouseTestBed.Order("o-2", T0.AddDays(1), region: "South")], [], CancellationToken.None);
        await writer.WriteAsync(ofC2, [], CancellationToken.None);

        await PlanAndWriteAsync(writer, WarehouseTestBed.Order("o-3", T0.AddDays(2), region: "South"));
        Assert.Equal(
            [("North", T0, (DateTime?)T0.AddDays(1), 1L), ("South", T0.AddDays(1), null, 2L)],
            (await OrderCountsAsync(bed, "C1")).Select(v => (v.Region, v.From, v.To, v.Orders)));

        // And between two whole batches of this writer: it plans C1 after the second writer opened an East version.
        await second.WriteAsync([WarehouseTestBed.Order("o-4", T0.AddDays(3), region: "East")], [], CancellationToken.None);
        await PlanAndWriteAsync(writer, WarehouseTestBed.Order("o-5", T0.AddDays(4), region: "East"));
        Assert.Equal(
            [("North", T0, (DateTime?)T0.AddDays(1), 1L), ("South", T0.AddDays(1), T0.AddDays(3), 2L), ("East", T0.AddDays(3), null, 2L)],
            (await OrderCountsAsync(bed, "C1")).Select(v => (v.Region, v.From, v.To, v.Orders)));
        Assert.Equal([("North", T0, (DateTime?)null, 2L)], (await OrderCountsAsync(bed, "C2")).Select(v => (v.Region, v.From, v.To, v.Orders)));
    }

    /// <summary>As the ingestion service writes a batch: planned (its reads), then written.</summary>
    private static async Task PlanAndWriteAsync(StarSchemaWriter writer, params IncomingOrder[] orders) =>
        await writer.WriteAsync(await writer.PlanAsync(orders, CancellationToken.None), [], CancellationToken.None);

    private static async Task<List<(string Region, DateTime From, DateTime? To, long Orders)>> OrderCountsAsync(WarehouseTestBed bed, string customerId) =>
        (await bed.QueryAsync("SELECT CUSTOMER_REGION, VALID_FROM, VALID_TO, ORDER_COUNT FROM DIM_CUSTOMER WHERE CUSTOMER_ID = ? ORDER BY VALID_FROM", customerId))
        .Select(r => ((string)r[0]!, (DateTime)r[1]!, (DateTime?)r[2], Convert.ToInt64(r[3], CultureInfo.InvariantCulture)))
        .ToList();

    [Fact]
    public async Task Products_keep_their_latest_name_and_dates_get_calendar_attributes()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.IngestAsync(WarehouseTestBed.Order("o-2", T0.AddDays(5), productName: "Laptop Pro"));
        await bed.IngestAsync(WarehouseTestBed.Order("o-1", T0, productName: "Laptop"));

        Assert.Equal("Laptop Pro", (await bed.QueryAsync("SELECT PRODUCT_NAME FROM DIM_PRODUCT WHERE PRODUCT_ID = 'P1'"))[0][0]);
        var date = (await bed.QueryAsync("SELECT DAY, MONTH, YEAR, QUARTER, WEEKDAY, DAY_NAME, MONTH_NAME, IS_WEEKEND FROM DIM_DATE WHERE ORDER_DATE = DATE '2026-03-01'"))[0];
        Assert.Equal(new object?[] { 1L, 3L, 2026L, 1L, 7L, "Sunday", "March", true }, date);
        Assert.Equal(2, await bed.CountAsync("DIM_DATE"));
    }

    [Fact]
    public async Task Offsets_advance_with_the_batch_and_never_move_backwards()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.Writer.WriteAsync([], [new("orders", 3, 100, "a")], CancellationToken.None);
        await bed.Writer.WriteAsync([], [new("orders", 3, 50, "b"), new("orders", 4, 7, "c")], CancellationToken.None);

        var offsets = (await bed.Writer.ReadOffsetsAsync("orders", CancellationToken.None)).OrderBy(o => o.Partition).ToArray();
        Assert.Equal([(3, 100L, "a"), (4, 7L, "c")], offsets.Select(o => (o.Partition, o.NextOffset, o.LastRecordDigest)));

        await bed.Writer.ResetOffsetAsync("orders", 3, CancellationToken.None);
        Assert.DoesNotContain(await bed.Writer.ReadOffsetsAsync("orders", CancellationToken.None), o => o.Partition == 3);
    }

    [Fact]
    public async Task A_batch_whose_partition_another_writer_already_stored_further_is_refused_whole()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.Writer.WriteAsync([WarehouseTestBed.Order("o-1", T0)], [new("orders", 0, 100, "a") { FirstOffset = 0 }], CancellationToken.None);

        // A late writer whose batch started at offset 40 of the partition, and also holds partition 1.
        var late = bed.Writer.WriteAsync(
            [WarehouseTestBed.Order("o-2", T0, region: "South"), WarehouseTestBed.Order("o-3", T0.AddDays(1))],
            [new("orders", 0, 60, "b") { FirstOffset = 40 }, new("orders", 1, 10, "c") { FirstOffset = 0 }], CancellationToken.None);

        var error = await Assert.ThrowsAsync<StaleBatchException>(() => late);
        Assert.Contains("partition 0 is already stored up to offset 100", error.Message, StringComparison.Ordinal);
        Assert.Equal(1L, await bed.CountAsync("FACT_ORDERS"));
        Assert.Equal([(0, 100L)], (await bed.Writer.ReadOffsetsAsync("orders", CancellationToken.None)).Select(o => (o.Partition, o.NextOffset)));
        Assert.Equal(["North"], (await bed.VersionsAsync("C1")).Select(v => v.Region));

        // A batch that starts where the partition was left is current.
        await bed.Writer.WriteAsync([WarehouseTestBed.Order("o-4", T0.AddDays(2))], [new("orders", 0, 120, "d") { FirstOffset = 100 }], CancellationToken.None);
        Assert.Equal(2L, await bed.CountAsync("FACT_ORDERS"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_planned_batch_whose_partition_was_stored_further_before_its_reads_is_refused_whole(bool alsoAPartitionItDoesNotStartIn)
    {
        // Nothing commits between this batch's reads and its write, so its reads still hold (on DuckDB, only the
        // partitions' claim is then checked: by the count of rows merge_offsets.sql changed when the batch starts in
        // every partition it carries, else by sql/ingestion/check_partitions_claimed.sql, as with a partition it carries
        // progress for only); but another writer stored the partition past where the batch starts before it read.
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.Writer.WriteAsync([WarehouseTestBed.Order("o-1", T0)], [new("orders", 0, 100, "a") { FirstOffset = 0 }], CancellationToken.None);

        var plan = await bed.Writer.PlanAsync([WarehouseTestBed.Order("o-2", T0.AddDays(1), region: "South")], CancellationToken.None);
        PartitionProgress[] progress = alsoAPartitionItDoesNotStartIn
            ? [new("orders", 0, 60, "b") { FirstOffset = 40 }, new("orders", 1, 10, "c")]
            : [new("orders", 0, 60, "b") { FirstOffset = 40 }];
        var error = await Assert.ThrowsAsync<StaleBatchException>(() => bed.Writer.WriteAsync(plan, progress, CancellationToken.None));

        Assert.Contains("partition 0 is already stored up to offset 100", error.Message, StringComparison.Ordinal);
        Assert.Equal(1L, await bed.CountAsync("FACT_ORDERS"));
        Assert.Equal([(0, 100L)], (await bed.Writer.ReadOffsetsAsync("orders", CancellationToken.None)).Select(o => (o.Partition, o.NextOffset)));
        Assert.Equal(["North"], (await bed.VersionsAsync("C1")).Select(v => v.Region));
    }

    [Fact]
    public async Task Applying_the_schema_again_keeps_the_data()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.IngestAsync(WarehouseTestBed.Order("o-1", T0));

        await bed.Writer.EnsureSchemaAsync(CancellationToken.None);

        Assert.Equal(1, await bed.CountAsync("FACT_ORDERS"));
    }

    [Fact]
    public async Task Money_keeps_its_cents()
    {
        await using var bed = await WarehouseTestBed.CreateAsync(Warehouse);
        await bed.IngestAsync(
            WarehouseTestBed.Order("o-1", T0, price: 0.01m, quantity: 3),
            WarehouseTestBed.Order("o-2", T0, customerId: "C2", price: 999_999.99m, quantity: 1_000));

        var totals = (await bed.QueryAsync("SELECT ORDER_ID, TOTAL_AMOUNT FROM FACT_ORDERS ORDER BY ORDER_ID")).Select(r => Convert.ToDecimal(r[1], CultureInfo.InvariantCulture));
        Assert.Equal([0.03m, 999_999_990.00m], totals);
    }
}

[Trait("Category", "Fast")]
public sealed class StarSchemaWriterOnDuckDbTests : StarSchemaWriterTests
{
    protected override string Warehouse => WarehouseTestBed.DuckDb;
}

public sealed class StarSchemaWriterOnSnowflakeTests : StarSchemaWriterTests
{
    protected override string Warehouse => WarehouseTestBed.Snowflake;
}
