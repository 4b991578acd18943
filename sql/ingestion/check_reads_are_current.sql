-- Second statement of every batch transaction: refuse a batch whose reads are out of date. The batch was
-- classified and its customers' histories rebuilt from reads made before the transaction; another writer (one
-- with other partitions holding orders of the same customers, as when orders are not keyed by customer) may have
-- committed since. Every stored order adds to the ORDER_COUNT of some version of its customer, so the rows of a
-- history are unchanged only if no order of that customer was stored meanwhile. Refused when one of the batch's
-- new orders is stored now, or a version of its customers differs from what was read ({read_versions}). Fails the
-- same way as check_batch_is_current.sql, with ECOMMERCE_STALE_READ in the value for people; the ingestion service
-- finds out by reading the orders and versions again, then rebuilds the batch.
SELECT CAST(CASE WHEN c.CHANGES > 0
                 THEN 'ECOMMERCE_STALE_' || 'READ: ' || CAST(c.CHANGES AS VARCHAR) || ' rows changed since the batch read them'
                 ELSE '0' END AS INTEGER) AS STALE
FROM (
    SELECT COUNT(*) AS CHANGES
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
    ) AS changed
) AS c
WHERE c.CHANGES > 0;
