-- The landed orders no modelling transaction has taken yet (no outcome recorded), at most the given number in all, so
-- that a cycle's memory stays bounded whatever the backlog: taken round the partitions, each partition's lowest offsets
-- first (PLACE 1 of every partition, then PLACE 2, ...). So a cycle takes a prefix of every partition's waiting rows,
-- and the first delivery of an order id within a partition is always modelled before a later one. Not the records as
-- sent: only a conflict needs them (read_landed_records.sql). Parameter: the most rows.
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
    WHERE o.LANDING_ID IS NULL
) AS w
QUALIFY ROW_NUMBER() OVER (ORDER BY w.PLACE, w.SOURCE_TOPIC, w.SOURCE_PARTITION) <= ?;
