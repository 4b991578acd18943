using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Tests.Warehouse;

public sealed class StaleBatchRefusalTests
{
    [Theory]
    [InlineData("Conversion Error: Could not convert string 'ECOMMERCE_STALE_BATCH: partition 3 is already stored up to offset 1200' to INT32", true)]
    [InlineData("Snowflake failed statement x: HTTP 422, code 100132: Execution of multiple statements failed on statement \"SELECT CAST('ECOMMERCE_STALE_BATCH: partition ' || CAST(o.PARTITION_ID AS VARCHAR)...\": Numeric value 'ECOMMERCE_STALE_BATCH: partition 0 is already stored up to offset 7' is not recognized", true)]
    [InlineData("Snowflake failed statement x: HTTP 422, code 100132: Execution of multiple statements failed on statement \"SELECT CAST('ECOMMERCE_STALE_BATCH: partition ' || CAST(o.PARTITION_ID AS VARCHAR)...\": Object 'INGESTION_OFFSETS' does not exist", false)]
    [InlineData("Snowflake did not complete statement x after 4 attempts: HTTP 503", false)]
    public void Only_the_currency_checks_own_refusal_counts_as_a_stale_batch_not_an_error_that_quotes_its_text(string message, bool stale)
    {
        Assert.Equal(stale, StaleBatchException.IsRefusal(new InvalidOperationException(message)));
    }
}
