-- Refuses a modelling transaction when a landed row it read was taken by another one meanwhile: every row of {claims}
-- must carry this transaction's mark (claim_landed_orders.sql), a change of its own transaction, which it sees. As in
-- check_batch_is_current.sql, a refusal is a failed conversion, and the query has no WHERE.
SELECT CAST(CASE WHEN c.UNCLAIMED > 0
                 THEN 'ECOMMERCE_STALE_' || 'READ: ' || CAST(c.UNCLAIMED AS VARCHAR) || ' landed orders were modelled by another transaction'
                 ELSE '0' END
            AS INTEGER) AS STALE
FROM (
    SELECT COUNT(*) AS UNCLAIMED
    FROM {claims} AS k
    CROSS JOIN {batch} AS b
    LEFT JOIN LANDED_ORDERS AS l
        ON l.LANDING_ID = k.LANDING_ID AND l.SOURCE_TOPIC = k.SOURCE_TOPIC AND l.SOURCE_PARTITION = k.SOURCE_PARTITION
       AND l.SOURCE_OFFSET = k.SOURCE_OFFSET AND l.MODEL_BATCH = b.ID
    WHERE l.LANDING_ID IS NULL
) AS c;
