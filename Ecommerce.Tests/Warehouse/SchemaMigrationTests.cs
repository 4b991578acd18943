using System.Globalization;
using Ecommerce.Consumer.Warehouse;
using Ecommerce.Tests.Infrastructure;

namespace Ecommerce.Tests.Warehouse;

/// <summary>A warehouse made by an earlier version of the service is brought up to date at start-up, data kept.</summary>
[Trait("Category", "Fast")]
public sealed class SchemaMigrationTests
{
    /// <summary>The customer and product tables as the service created them before ORDER_COUNT and LAST_ORDER_ID.</summary>
    private const string EarlierSchema = """
        CREATE TABLE DIM_CUSTOMER (
            CUSTOMER_SK BIGINT NOT NULL PRIMARY KEY, CUSTOMER_ID VARCHAR(64) NOT NULL, CUSTOMER_NAME VARCHAR(200) NOT NULL,
            CUSTOMER_REGION VARCHAR(100) NOT NULL, VALID_FROM TIMESTAMP NOT NULL, VALID_TO TIMESTAMP, IS_CURRENT BOOLEAN NOT NULL,
            LAST_SEEN_AT TIMESTAMP NOT NULL);
        CREATE TABLE DIM_PRODUCT (
            PRODUCT_ID VARCHAR(64) NOT NULL PRIMARY KEY, PRODUCT_NAME VARCHAR(200) NOT NULL, CATEGORY VARCHAR(100) NOT NULL,
            LAST_SEEN_AT TIMESTAMP NOT NULL);
        INSERT INTO DIM_CUSTOMER VALUES (7, 'C1', 'Ada', 'North', TIMESTAMP '2026-03-01 09:00:00', NULL, TRUE, TIMESTAMP '2026-03-01 11:00:00');
        INSERT INTO DIM_PRODUCT VALUES ('P1', 'Laptop', 'Electronics', TIMESTAMP '2026-03-01 09:00:00');
        """;

    [Fact]
    public async Task A_duckdb_warehouse_from_before_the_history_witnesses_gets_them_with_counts_and_keeps_working()
    {
        using var directory = new TempDirectory();
        await using var warehouse = new DuckDbWarehouseProvider($"Data Source={directory.File("earlier.duckdb")}");
        await warehouse.ExecuteScriptAsync(EarlierSchema, CancellationToken.None);
        var writer = new StarSchemaWriter(warehouse, TimeProvider.System);
        await writer.EnsureSchemaAsync(CancellationToken.None); // FACT_ORDERS etc. are created, the two tables altered.
        await warehouse.ExecuteScriptAsync(
            "INSERT INTO FACT_ORDERS VALUES ('o-1', TIMESTAMP '2026-03-01 09:00:00', DATE '2026-03-01', 'C1', 7, 'P1', 10.00, 1, 10.00, 'd', 'orders', 0, 0, TIMESTAMP '2026-03-01 09:00:00', NULL);" +
            "UPDATE DIM_CUSTOMER SET ORDER_COUNT = NULL", CancellationToken.None);

        // As on the next start: the missing count is filled from the facts.
        await writer.EnsureSchemaAsync(CancellationToken.None);
        Assert.Equal(1L, Convert.ToInt64((await warehouse.QueryAsync(new SqlStatement("SELECT ORDER_COUNT FROM DIM_CUSTOMER"), CancellationToken.None))[0][0], CultureInfo.InvariantCulture));

        // And ingestion goes on: a late order in another region splits the stored version.
        var late = WarehouseTestBed.Order("o-0", new DateTime(2026, 3, 1, 8, 0, 0, DateTimeKind.Utc), region: "South");
        await writer.WriteAsync((await writer.ClassifyAsync([late], CancellationToken.None)).New, [], CancellationToken.None);
        var versions = (await warehouse.QueryAsync(new SqlStatement("SELECT CUSTOMER_REGION, ORDER_COUNT FROM DIM_CUSTOMER ORDER BY VALID_FROM"), CancellationToken.None))
            .Select(r => ((string)r[0]!, Convert.ToInt64(r[1], CultureInfo.InvariantCulture)));
        Assert.Equal([("South", 1L), ("North", 1L)], versions);
    }
}
