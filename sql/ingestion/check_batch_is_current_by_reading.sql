-- check_batch_is_current.sql for a warehouse whose transactions see every commit made before them (DuckDB: one process
-- writes the file, and its batch transactions take turns): the same refusals, but the batch's new orders and its
-- customers' versions are read directly instead of marked first (two statements and a rewrite of every version of the
-- batch's customers saved). The partitions' claim is merge_offsets.sql's mark, and a modelling cycle's landings
-- take_landed_rows.sql's, as everywhere. Where the provider knows that nothing has committed since the batch read
-- (a batch, not a modelling cycle), check_partitions_claimed.sql, the first of these refusals alone, runs instead (or,
-- where merge_offsets.sql changed one row per partition of a batch that starts in each, nothing).
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
         ) AS changed) AS CHANGED_ROWS,
        (SELECT COUNT(*)
         FROM {landings} AS g
         JOIN LANDED_OUTCOMES AS o
             ON o.LANDING_ID = g.LANDING_ID
         JOIN {batch} AS b
             ON o.BATCH_ID = b.ID) AS TAKEN_LANDINGS
) AS c;
