using System.Diagnostics;
using DuckDB.NET.Data;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Producer.Simulation;

namespace Ecommerce.Benchmarks.Scenarios;

/// <summary>
/// The original Python consumer's way of writing, reproduced on the same DuckDB engine: for every message, three
/// MERGE statements (customer, product, date) and one INSERT of the fact, each committed on its own, no batching.
/// </summary>
public static class OriginalDesign
{
    private const string Schema = """
        CREATE TABLE DIM_CUSTOMER (CUSTOMER_ID VARCHAR PRIMARY KEY, CUSTOMER_NAME VARCHAR, CUSTOMER_REGION VARCHAR);
        CREATE TABLE DIM_PRODUCT (PRODUCT_ID VARCHAR PRIMARY KEY, PRODUCT_NAME VARCHAR, CATEGORY VARCHAR);
        CREATE TABLE DIM_DATE (ORDER_DATE DATE PRIMARY KEY, DAY INTEGER, MONTH INTEGER, YEAR INTEGER, WEEKDAY INTEGER);
        CREATE TABLE FACT_ORDERS (ORDER_ID VARCHAR, ORDER_TIMESTAMP TIMESTAMP, CUSTOMER_ID VARCHAR, PRODUCT_ID VARCHAR,
            ORDER_DATE DATE, PRICE DECIMAL(18,2), QUANTITY INTEGER, TOTAL_AMOUNT DECIMAL(18,2));
        """;

    private const string MergeCustomer = """
        MERGE INTO DIM_CUSTOMER AS t USING (SELECT ? AS CUSTOMER_ID, ? AS CUSTOMER_NAME, ? AS CUSTOMER_REGION) AS s
        ON t.CUSTOMER_ID = s.CUSTOMER_ID
        WHEN MATCHED THEN UPDATE SET CUSTOMER_NAME = s.CUSTOMER_NAME, CUSTOMER_REGION = s.CUSTOMER_REGION
        WHEN NOT MATCHED THEN INSERT VALUES (s.CUSTOMER_ID, s.CUSTOMER_NAME, s.CUSTOMER_REGION)
        """;

    private const string MergeProduct = """
        MERGE INTO DIM_PRODUCT AS t USING (SELECT ? AS PRODUCT_ID, ? AS PRODUCT_NAME, ? AS CATEGORY) AS s
        ON t.PRODUCT_ID = s.PRODUCT_ID
        WHEN MATCHED THEN UPDATE SET PRODUCT_NAME = s.PRODUCT_NAME, CATEGORY = s.CATEGORY
        WHEN NOT MATCHED THEN INSERT VALUES (s.PRODUCT_ID, s.PRODUCT_NAME, s.CATEGORY)
        """;

    private const string MergeDate = """
        MERGE INTO DIM_DATE AS t USING (SELECT CAST(? AS DATE) AS ORDER_DATE) AS s
        ON t.ORDER_DATE = s.ORDER_DATE
        WHEN NOT MATCHED THEN INSERT VALUES (s.ORDER_DATE, day(s.ORDER_DATE), month(s.ORDER_DATE), year(s.ORDER_DATE), dayofweek(s.ORDER_DATE))
        """;

    private const string InsertFact = "INSERT INTO FACT_ORDERS VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

    /// <summary>Writes up to <paramref name="count"/> orders (or for <paramref name="timeBox"/>) and returns orders per second.</summary>
    public static double Run(string databasePath, int count, TimeSpan timeBox)
    {
        var generator = new OrderGenerator(new SimulatorOptions { Seed = 1 }, TimeProvider.System);
        var payloads = Enumerable.Range(0, count).Select(_ => generator.Next().Payload).ToArray();

        using var connection = new DuckDBConnection($"Data Source={databasePath}");
        connection.Open();
        Execute(connection, Schema);

        var clock = Stopwatch.StartNew();
        var written = 0;
        foreach (var payload in payloads)
        {
            if (!OrderValidator.TryParse(payload, out var o, out _))
            {
                continue;
            }

            var date = DateOnly.FromDateTime(o.OrderTimestamp);
            Execute(connection, MergeCustomer, o.CustomerId, o.CustomerName, o.CustomerRegion);
            Execute(connection, MergeProduct, o.ProductId, o.ProductName, o.Category);
            Execute(connection, MergeDate, date);
            Execute(connection, InsertFact, o.OrderId, o.OrderTimestamp, o.CustomerId, o.ProductId, date, o.Price, o.Quantity, o.Price * o.Quantity);
            written++;
            if (clock.Elapsed > timeBox)
            {
                break;
            }
        }

        return written / clock.Elapsed.TotalSeconds;
    }

    private static void Execute(DuckDBConnection connection, string sql, params object[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new DuckDBParameter(parameter));
        }

        command.ExecuteNonQuery();
    }
}
