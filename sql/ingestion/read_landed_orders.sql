-- The landed orders no modelling transaction has taken yet (no outcome recorded), at most the given number in all, so
-- that a cycle's memory stays bounded whatever the backlog: taken round the partitions, each partition's lowest offsets
-- first (PLACE 1 of every partition, then PLACE 2, ...). So a cycle takes a prefix of every partition's waiting rows,
-- and the first delivery of an order id within a partition is always modelled before a later one. Not the records as
-- sent: only a conflict needs them (read_landed_records.sql).
--
-- {after}: while a cycle's transaction runs, the modeller prepares the next cycle, which must not take the same rows;
-- it names, per partition, the last row (offset, then landing id) the running cycle took, and only rows after it are
-- read. Empty otherwise. A row that becomes readable below that point later is a redelivery of a record the running
-- cycle took, or one before it (rows land whole and in offset order, below); it waits for a cycle prepared with no
-- cycle running. One row per partition: the set is never sliced. Parameter: the most rows.
--
-- Only whole landings are taken: a row waits until its landing has recorded its progress (LANDED_PROGRESS, appended
-- after all of the landing's orders), because a landing's orders go in several statements that commit apart, and a
-- later offset seen before an earlier one would be modelled first. A landing that never becomes whole (it failed part
-- way; its orders landed again in another) is taken as far as its partition's progress has gone past it: every such
-- offset has landed whole elsewhere (or was read once and then lost to retention), so its rows become duplicates (or
-- the only copy) in offset order, and no landed row waits for ever.
--
-- With each row, the content digest of its order as FACT_ORDERS holds it (NULL: not stored), so that the cycle tells
-- new orders from redeliveries and conflicts without a second read that sends every order id back (read_existing_orders.sql
-- on the direct path). The transaction's checks catch an order stored after this read, as they do after that one.
WITH whole AS (
    SELECT DISTINCT LANDING_ID, TOPIC, PARTITION_ID FROM LANDED_PROGRESS
), reached AS (
    SELECT TOPIC, PARTITION_ID, MAX(NEXT_OFFSET) AS NEXT_OFFSET
    FROM (
        SELECT TOPIC, PARTITION_ID, NEXT_OFFSET FROM LANDED_PROGRESS
        UNION ALL
        SELECT TOPIC, PARTITION_ID, NEXT_OFFSET FROM INGESTION_OFFSETS
    ) AS p
    GROUP BY TOPIC, PARTITION_ID
)
SELECT
    t.LANDING_ID, t.SOURCE_TOPIC, t.SOURCE_PARTITION, t.SOURCE_OFFSET, t.ORDER_ID, t.ORDER_TIMESTAMP, t.CUSTOMER_ID,
    t.CUSTOMER_NAME, t.CUSTOMER_REGION, t.PRODUCT_ID, t.PRODUCT_NAME, t.CATEGORY, t.PRICE, t.QUANTITY, t.CONTENT_DIGEST,
    s.CONTENT_DIGEST AS STORED_DIGEST
FROM (
SELECT
    w.LANDING_ID, w.SOURCE_TOPIC, w.SOURCE_PARTITION, w.SOURCE_OFFSET, w.ORDER_ID, w.ORDER_TIMESTAMP, w.CUSTOMER_ID,
    w.CUSTOMER_NAME, w.CUSTOMER_REGION, w.PRODUCT_ID, w.PRODUCT_NAME, w.CATEGORY, w.PRICE, w.QUANTITY, w.CONTENT_DIGEST
FROM (
    SELECT
        l.LANDING_ID, l.SOURCE_TOPIC, l.SOURCE_PARTITION, l.SOURCE_OFFSET, l.ORDER_ID, l.ORDER_TIMESTAMP, l.CUSTOMER_ID,
        l.CUSTOMER_NAME, l.CUSTOMER_REGION, l.PRODUCT_ID, l.PRODUCT_NAME, l.CATEGORY, l.PRICE, l.QUANTITY, l.CONTENT_DIGEST,
        ROW_NUMBER() OVER (PARTITION BY l.SOURCE_TOPIC, l.SOURCE_PARTITION ORDER BY l.SOURCE_OFFSET, l.LANDING_ID) AS PLACE
    FROM LANDED_ORDERS AS l
    LEFT JOIN LANDED_OUTCOMES AS o
        ON o.LANDING_ID = l.LANDING_ID AND o.SOURCE_TOPIC = l.SOURCE_TOPIC AND o.SOURCE_PARTITION = l.SOURCE_PARTITION
       AND o.SOURCE_OFFSET = l.SOURCE_OFFSET
    LEFT JOIN whole AS h
        ON h.LANDING_ID = l.LANDING_ID AND h.TOPIC = l.SOURCE_TOPIC AND h.PARTITION_ID = l.SOURCE_PARTITION
    LEFT JOIN reached AS r
        ON r.TOPIC = l.SOURCE_TOPIC AND r.PARTITION_ID = l.SOURCE_PARTITION
    LEFT JOIN {after} AS a
        ON a.SOURCE_TOPIC = l.SOURCE_TOPIC AND a.SOURCE_PARTITION = l.SOURCE_PARTITION
    WHERE o.LANDING_ID IS NULL
      AND (h.LANDING_ID IS NOT NULL OR l.SOURCE_OFFSET < r.NEXT_OFFSET)
      AND (a.SOURCE_TOPIC IS NULL OR l.SOURCE_OFFSET > a.SOURCE_OFFSET
           OR (l.SOURCE_OFFSET = a.SOURCE_OFFSET AND l.LANDING_ID > a.LANDING_ID))
) AS w
QUALIFY ROW_NUMBER() OVER (ORDER BY w.PLACE, w.SOURCE_TOPIC, w.SOURCE_PARTITION) <= ?
) AS t
LEFT JOIN FACT_ORDERS AS s
    ON s.ORDER_ID = t.ORDER_ID;
