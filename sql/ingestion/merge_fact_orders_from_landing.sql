-- merge_fact_orders.sql for a modelling transaction (the Landed write path): the facts of the landed orders it found
-- new, made from the landed rows themselves and pointing at their customer versions as in
-- insert_fact_orders_from_landing.sql, and a mark with the
-- transaction's BATCH_ID on any stored copy of one, in one statement, where a plain read may miss another writer's
-- commit (Snowflake); elsewhere insert_fact_orders_from_landing.sql appends them after a read check. The
-- rows it reads from LANDED_ORDERS were landed before the modeller read them, so before this transaction's session
-- started: it sees every one. check_batch_is_current.sql refuses the cycle if it marked any.
MERGE INTO FACT_ORDERS AS t
USING (
    SELECT
        l.ORDER_ID, l.ORDER_TIMESTAMP, CAST(l.ORDER_TIMESTAMP AS DATE) AS ORDER_DATE, l.CUSTOMER_ID, v.CUSTOMER_SK,
        l.PRODUCT_ID, l.PRICE, l.QUANTITY, CAST(l.PRICE * l.QUANTITY AS DECIMAL(18,2)) AS TOTAL_AMOUNT,
        l.CONTENT_DIGEST, l.SOURCE_TOPIC, l.SOURCE_PARTITION, l.SOURCE_OFFSET, b.WRITTEN_AT AS INGESTED_AT, b.ID AS BATCH_ID
    FROM {claims} AS c
    JOIN {landings} AS g
        ON g.LANDING_NO = c.LANDING_NO
    JOIN LANDED_ORDERS AS l
        ON l.LANDING_ID = g.LANDING_ID AND l.SOURCE_TOPIC = c.SOURCE_TOPIC AND l.SOURCE_PARTITION = c.SOURCE_PARTITION
       AND l.SOURCE_OFFSET BETWEEN c.FIRST_OFFSET AND c.LAST_OFFSET
    JOIN {versions} AS v
        ON v.CUSTOMER_ID = l.CUSTOMER_ID AND l.ORDER_TIMESTAMP >= v.VALID_FROM
       AND (v.VALID_TO IS NULL OR l.ORDER_TIMESTAMP < v.VALID_TO)
    CROSS JOIN {batch} AS b
    WHERE c.OUTCOME = 'NEW'
) AS s
    ON t.ORDER_ID = s.ORDER_ID
WHEN MATCHED THEN UPDATE SET
    BATCH_ID = s.BATCH_ID
WHEN NOT MATCHED THEN INSERT (
    ORDER_ID, ORDER_TIMESTAMP, ORDER_DATE, CUSTOMER_ID, CUSTOMER_SK, PRODUCT_ID, PRICE, QUANTITY, TOTAL_AMOUNT,
    CONTENT_DIGEST, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, INGESTED_AT)
VALUES (
    s.ORDER_ID, s.ORDER_TIMESTAMP, s.ORDER_DATE, s.CUSTOMER_ID, s.CUSTOMER_SK, s.PRODUCT_ID, s.PRICE, s.QUANTITY,
    s.TOTAL_AMOUNT, s.CONTENT_DIGEST, s.SOURCE_TOPIC, s.SOURCE_PARTITION, s.SOURCE_OFFSET, s.INGESTED_AT);
