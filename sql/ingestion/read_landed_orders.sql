-- The landed orders no modelling transaction has taken yet (no outcome recorded), per partition at most the given
-- number, lowest offsets first, so the first delivery of an order id within a partition is always modelled before a
-- later one. Not the records as sent: only a conflict needs them (read_landed_records.sql). Parameter: the most rows
-- per partition.
SELECT
    l.LANDING_ID, l.SOURCE_TOPIC, l.SOURCE_PARTITION, l.SOURCE_OFFSET, l.ORDER_ID, l.ORDER_TIMESTAMP, l.CUSTOMER_ID,
    l.CUSTOMER_NAME, l.CUSTOMER_REGION, l.PRODUCT_ID, l.PRODUCT_NAME, l.CATEGORY, l.PRICE, l.QUANTITY, l.CONTENT_DIGEST
FROM LANDED_ORDERS AS l
LEFT JOIN LANDED_OUTCOMES AS o
    ON o.LANDING_ID = l.LANDING_ID AND o.SOURCE_TOPIC = l.SOURCE_TOPIC AND o.SOURCE_PARTITION = l.SOURCE_PARTITION
   AND o.SOURCE_OFFSET = l.SOURCE_OFFSET
WHERE o.LANDING_ID IS NULL
QUALIFY ROW_NUMBER() OVER (PARTITION BY l.SOURCE_TOPIC, l.SOURCE_PARTITION ORDER BY l.SOURCE_OFFSET, l.LANDING_ID) <= ?;
