-- New orders into the fact table, where every commit is seen (DuckDB; Snowflake runs merge_fact_orders.sql): appended,
-- not merged. The ingestion service classified them as new, and check_batch_is_current_by_reading.sql (or, when
-- nothing committed since the batch read, its reads themselves), in the same transaction of the file's one writer,
-- proved that none of them has been stored since; so the statement never needs to look at the orders already there, however many there are.
-- TOTAL_AMOUNT comes computed (PRICE * QUANTITY, exact: a price has at most two decimal places). The statement only
-- appends {orders}, column for column: DuckDB appends the rows to FACT_ORDERS directly instead of running it.
INSERT INTO FACT_ORDERS (
    ORDER_ID, ORDER_TIMESTAMP, ORDER_DATE, CUSTOMER_ID, CUSTOMER_SK, PRODUCT_ID, PRICE, QUANTITY, TOTAL_AMOUNT,
    CONTENT_DIGEST, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, INGESTED_AT)
SELECT
    s.ORDER_ID, s.ORDER_TIMESTAMP, s.ORDER_DATE, s.CUSTOMER_ID, s.CUSTOMER_SK, s.PRODUCT_ID, s.PRICE, s.QUANTITY,
    s.TOTAL_AMOUNT,
    s.CONTENT_DIGEST, s.SOURCE_TOPIC, s.SOURCE_PARTITION, s.SOURCE_OFFSET, s.INGESTED_AT
FROM {orders} AS s;
