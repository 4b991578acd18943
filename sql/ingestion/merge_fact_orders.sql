-- New orders into the fact table. An order id already present is left as it is: the ingestion service has
-- already told redeliveries (same content) from conflicts (different content, sent to the dead-letter topic).
MERGE INTO FACT_ORDERS AS t
USING {orders} AS s
    ON t.ORDER_ID = s.ORDER_ID
WHEN NOT MATCHED THEN INSERT (
    ORDER_ID, ORDER_TIMESTAMP, ORDER_DATE, CUSTOMER_ID, CUSTOMER_SK, PRODUCT_ID, PRICE, QUANTITY, TOTAL_AMOUNT,
    CONTENT_DIGEST, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, INGESTED_AT)
VALUES (
    s.ORDER_ID, s.ORDER_TIMESTAMP, s.ORDER_DATE, s.CUSTOMER_ID, s.CUSTOMER_SK, s.PRODUCT_ID, s.PRICE, s.QUANTITY,
    CAST(s.PRICE * s.QUANTITY AS DECIMAL(18,2)),
    s.CONTENT_DIGEST, s.SOURCE_TOPIC, s.SOURCE_PARTITION, s.SOURCE_OFFSET, s.INGESTED_AT);
