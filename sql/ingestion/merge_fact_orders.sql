-- Where a plain read may miss another writer's commit (Snowflake): the batch's new orders into the fact table, and a
-- mark with the batch's BATCH_ID on any stored copy of one, in one statement (a mark and an append would be two). A
-- statement that changes rows works on their latest committed version whatever the session has seen, so the MERGE
-- finds a copy another writer committed a moment ago, which a plain read might miss; and it holds FACT_ORDERS' lock to
-- the end of the transaction. (Where every commit is seen, DuckDB, insert_fact_orders.sql appends after a read check.)
-- Normally no new order is stored and every row is inserted (without a BATCH_ID); one that is there was stored by
-- another writer after this batch read, and check_batch_is_current.sql, seeing the mark, refuses the batch, which
-- rolls back the mark and the rows inserted beside it. TOTAL_AMOUNT comes computed, as in insert_fact_orders.sql.
MERGE INTO FACT_ORDERS AS t
USING (SELECT s.*, b.ID AS BATCH_ID FROM {orders} AS s CROSS JOIN {batch} AS b) AS s
    ON t.ORDER_ID = s.ORDER_ID
WHEN MATCHED THEN UPDATE SET
    BATCH_ID = s.BATCH_ID
WHEN NOT MATCHED THEN INSERT (
    ORDER_ID, ORDER_TIMESTAMP, ORDER_DATE, CUSTOMER_ID, CUSTOMER_SK, PRODUCT_ID, PRICE, QUANTITY, TOTAL_AMOUNT,
    CONTENT_DIGEST, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, INGESTED_AT)
VALUES (
    s.ORDER_ID, s.ORDER_TIMESTAMP, s.ORDER_DATE, s.CUSTOMER_ID, s.CUSTOMER_SK, s.PRODUCT_ID, s.PRICE, s.QUANTITY,
    s.TOTAL_AMOUNT, s.CONTENT_DIGEST, s.SOURCE_TOPIC, s.SOURCE_PARTITION, s.SOURCE_OFFSET, s.INGESTED_AT);
