-- Refuses a batch that is no longer current, once merge_offsets.sql, merge_fact_orders.sql (in a modelling cycle,
-- merge_fact_orders_from_landing.sql, and take_landed_rows.sql) and mark_customer_versions.sql have marked, with the
-- batch's BATCH_ID, the rows it claimed or found. It reads only what its own transaction marked, which every statement of a transaction sees, so
-- it needs no read of other sessions' commits (which Snowflake's default read consistency lets a session started
-- before them miss). Three ways another writer can have overtaken the batch:
--   * progress: a partition the batch starts in ({offsets} with a FIRST_OFFSET) is not marked as claimed: it is
--     already stored past where the batch starts;
--   * reads: the batch was classified and its customers' histories rebuilt from reads made before the transaction, and
--     since then one of its new orders was stored (a marked fact: only the mark of this transaction writes its id into
--     FACT_ORDERS.BATCH_ID, the rows the same statement inserts carry none, and the id is new, so no list of the new
--     orders is needed here), or one of its customers
--     gained orders: every stored
--     order adds one to the ORDER_COUNT of some version of its customer and no order is ever removed, so a customer's
--     total ORDER_COUNT over the marked versions, as against as read (READ_ORDER_COUNT, 0 for a customer read without
--     versions), changes exactly when another writer has stored an order of theirs, and with it possibly their history;
--   * landings (a modelling cycle): another modelling transaction recorded an outcome for a landed row this one read as
--     waiting: take_landed_rows.sql marked that outcome with this transaction's id (the check_landed_claims.sql
--     refusal, folded in here so that a cycle pays one statement for both). Only the outcomes of the cycle's own
--     landings ({landings}) can carry that mark; on the direct path {landings} is empty, and LANDED_OUTCOMES is not read.
-- Plain SQL has no RAISE that DuckDB and Snowflake share, so a refusal is a failed conversion (its value says why, for
-- whoever reads the log) and the transaction is rolled back. The query has no WHERE: it yields one row, '0' when the
-- batch is current, so no order of evaluation can make a current batch fail. The ingestion service learns what
-- happened by reading the offsets, orders and versions (a modelling cycle: the taken landings, read_taken_claims.sql)
-- again, not from the error's text.
SELECT CAST(CASE WHEN c.UNCLAIMED_PARTITIONS > 0
                 THEN 'ECOMMERCE_STALE_BATCH: ' || CAST(c.UNCLAIMED_PARTITIONS AS VARCHAR) || ' partitions are already stored further'
                 WHEN c.CHANGED_ROWS > 0
                 THEN 'ECOMMERCE_STALE_' || 'READ: ' || CAST(c.CHANGED_ROWS AS VARCHAR) || ' rows changed since the batch read them'
                 WHEN c.TAKEN_LANDINGS > 0
                 THEN 'ECOMMERCE_STALE_' || 'READ: ' || CAST(c.TAKEN_LANDINGS AS VARCHAR) || ' landed orders were modelled by another transaction'
                 ELSE '0' END
            AS INTEGER) AS STALE
FROM (
    SELECT
        (SELECT COUNT(*)
         FROM {offsets} AS f
         CROSS JOIN {batch} AS b
         LEFT JOIN INGESTION_OFFSETS AS o
             ON o.TOPIC = f.TOPIC AND o.PARTITION_ID = f.PARTITION_ID AND o.BATCH_ID = b.ID
         WHERE f.FIRST_OFFSET IS NOT NULL AND o.PARTITION_ID IS NULL) AS UNCLAIMED_PARTITIONS,
        (SELECT COUNT(*)
         FROM (
             SELECT f.ORDER_ID AS CHANGED
             FROM FACT_ORDERS AS f
             JOIN {batch} AS b
                 ON f.BATCH_ID = b.ID
             UNION ALL
             SELECT k.CUSTOMER_ID AS CHANGED
             FROM {customers} AS k
             LEFT JOIN (
                 SELECT v.CUSTOMER_ID, SUM(v.ORDER_COUNT) AS ORDER_COUNT
                 FROM DIM_CUSTOMER AS v
                 JOIN {batch} AS b
                     ON v.BATCH_ID = b.ID
                 GROUP BY v.CUSTOMER_ID
             ) AS d
                 ON d.CUSTOMER_ID = k.CUSTOMER_ID
             WHERE COALESCE(d.ORDER_COUNT, 0) <> k.READ_ORDER_COUNT
         ) AS changed) AS CHANGED_ROWS,
        (SELECT COUNT(*)
         FROM {landings} AS g
         JOIN LANDED_OUTCOMES AS o
             ON o.LANDING_ID = g.LANDING_ID
         JOIN {batch} AS b
             ON o.BATCH_ID = b.ID) AS TAKEN_LANDINGS
) AS c;
