-- Refuses a modelling transaction when another one recorded an outcome for a landed row this one read as waiting:
-- take_landed_rows.sql marked any such outcome with this transaction's id, a change of its own, which it sees. As
-- in check_batch_is_current.sql, a refusal is a failed conversion, and the query has no WHERE. Only for a cycle that
-- runs no check_batch_is_current.sql (no new order, no fenced partition): that check counts the same marks.
SELECT CAST(CASE WHEN c.TAKEN > 0
                 THEN 'ECOMMERCE_STALE_' || 'READ: ' || CAST(c.TAKEN AS VARCHAR) || ' landed orders were modelled by another transaction'
                 ELSE '0' END
            AS INTEGER) AS STALE
FROM (
    SELECT COUNT(*) AS TAKEN
    FROM LANDED_OUTCOMES AS o
    JOIN {batch} AS b
        ON o.BATCH_ID = b.ID
) AS c;
