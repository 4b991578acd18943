-- First statement of every batch transaction, right after the write lock is taken: refuse a batch that is no longer
-- current. Two ways another writer can have overtaken it:
--   * progress: a partition of the batch is already stored past where the batch starts in it ({fence}): a consumer
--     that lost its partitions and writes late, or a transaction that ran after its client gave up on it;
--   * reads: the batch was classified and its customers' histories rebuilt from reads made before the transaction,
--     and since then one of its new orders ({new_orders}) was stored, or one of its customers ({customers}) gained
--     orders. Every stored order adds one to the ORDER_COUNT of some version of its customer and no order is ever
--     removed, so a customer's total ORDER_COUNT, as read (READ_ORDER_COUNT, 0 for a customer without versions),
--     changes exactly when another writer has stored an order of theirs, and with it possibly their history.
-- Plain SQL has no RAISE that DuckDB and Snowflake share, so the statement fails with a conversion error (its value
-- says why, for whoever reads the log) and the transaction is rolled back. The ingestion service learns what
-- happened by reading the offsets, orders and versions again, not from the error's text. The CASE keeps the failing
-- value to a refused batch whatever order the engine evaluates the query in.
SELECT CAST(CASE WHEN c.OVERTAKEN_PARTITIONS > 0
                 THEN 'ECOMMERCE_STALE_BATCH: ' || CAST(c.OVERTAKEN_PARTITIONS AS VARCHAR) || ' partitions are already stored further'
                 ELSE 'ECOMMERCE_STALE_' || 'READ: ' || CAST(c.CHANGED_ROWS AS VARCHAR) || ' rows changed since the batch read them' END
            AS INTEGER) AS STALE
FROM (
    SELECT
        (SELECT COUNT(*)
         FROM INGESTION_OFFSETS AS o
         JOIN {fence} AS f
             ON o.TOPIC = f.TOPIC AND o.PARTITION_ID = f.PARTITION_ID
         WHERE o.NEXT_OFFSET > f.FIRST_OFFSET) AS OVERTAKEN_PARTITIONS,
        (SELECT COUNT(*)
         FROM (
             SELECT f.ORDER_ID AS CHANGED
             FROM FACT_ORDERS AS f
             JOIN {new_orders} AS n
                 ON f.ORDER_ID = n.ORDER_ID
             UNION ALL
             SELECT k.CUSTOMER_ID AS CHANGED
             FROM {customers} AS k
             LEFT JOIN (
                 SELECT v.CUSTOMER_ID, SUM(v.ORDER_COUNT) AS ORDER_COUNT
                 FROM DIM_CUSTOMER AS v
                 JOIN {customers} AS c
                     ON v.CUSTOMER_ID = c.CUSTOMER_ID
                 GROUP BY v.CUSTOMER_ID
             ) AS d
                 ON d.CUSTOMER_ID = k.CUSTOMER_ID
             WHERE COALESCE(d.ORDER_COUNT, 0) <> k.READ_ORDER_COUNT
         ) AS changed) AS CHANGED_ROWS
) AS c
WHERE c.OVERTAKEN_PARTITIONS > 0 OR c.CHANGED_ROWS > 0;
