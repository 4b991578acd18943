-- In a modelling transaction (the Landed write path) where every commit is seen (DuckDB; Snowflake runs
-- merge_fact_orders_from_landing.sql): the facts of the landed orders it found new, made from the
-- landed rows themselves ({claims}: ranges of consecutive offsets of one landing and partition, every one of them read),
-- each pointing at the version of its customer valid at its time among those the transaction writes ({versions}: a
-- new order changes its version's ORDER_COUNT, so its version is there; the rule repoint_facts.sql applies, and the
-- one the history rebuild follows, checked in C# for every new order before it is staged). As insert_fact_orders.sql, an
-- append: the transaction's checks proved none of these orders is stored. The rows it reads from LANDED_ORDERS were
-- landed before the modeller read them, so before this transaction's session started: it sees every one.
INSERT INTO FACT_ORDERS (
    ORDER_ID, ORDER_TIMESTAMP, ORDER_DATE, CUSTOMER_ID, CUSTOMER_SK, PRODUCT_ID, PRICE, QUANTITY, TOTAL_AMOUNT,
    CONTENT_DIGEST, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, INGESTED_AT)
SELECT
    l.ORDER_ID, l.ORDER_TIMESTAMP, CAST(l.ORDER_TIMESTAMP AS DATE), l.CUSTOMER_ID, v.CUSTOMER_SK, l.PRODUCT_ID, l.PRICE,
    l.QUANTITY, CAST(l.PRICE * l.QUANTITY AS DECIMAL(18,2)),
    l.CONTENT_DIGEST, l.SOURCE_TOPIC, l.SOURCE_PARTITION, l.SOURCE_OFFSET, b.WRITTEN_AT
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
WHERE c.OUTCOME = 'NEW';
