-- First statement of every batch transaction, right after the write lock is taken: refuse a batch that is no longer
-- current. Two ways another writer can have overtaken it:
--   * progress: a partition of the batch is already stored past where the batch starts in it ({fence}): a consumer
--     that lost its partitions and writes late, or a transaction that ran after its client gave up on it;
--   * reads: the batch was classified and its customers' histories rebuilt from reads made before the transaction,
--     and since then one of its new orders ({new_orders}) was stored, or a version of its customers ({customers})
--     no longer is as read ({read_versions}). Every stored order adds to the ORDER_COUNT of some version of its
--     customer, so a history reads the same only if no order of that customer was stored meanwhile.
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
             SELECT COALESCE(d.CUSTOMER_ID, r.CUSTOMER_ID) AS CHANGED
             FROM (
                 SELECT v.CUSTOMER_SK, v.CUSTOMER_ID, v.VALID_FROM, v.VALID_TO, v.LAST_SEEN_AT, v.ORDER_COUNT
                 FROM DIM_CUSTOMER AS v
                 JOIN {customers} AS k
                     ON v.CUSTOMER_ID = k.CUSTOMER_ID
             ) AS d
             FULL OUTER JOIN {read_versions} AS r
                 ON d.CUSTOMER_SK = r.CUSTOMER_SK
                AND d.VALID_FROM = r.VALID_FROM
                AND d.VALID_TO IS NOT DISTINCT FROM r.VALID_TO
                AND d.LAST_SEEN_AT = r.LAST_SEEN_AT
                AND d.ORDER_COUNT = r.ORDER_COUNT
             WHERE d.CUSTOMER_SK IS NULL OR r.CUSTOMER_SK IS NULL
         ) AS changed) AS CHANGED_ROWS
) AS c
WHERE c.OVERTAKEN_PARTITIONS > 0 OR c.CHANGED_ROWS > 0;
