-- Appends a batch's valid orders to the landing layer ({landed}), nothing else: an INSERT takes no lock that another
-- process's INSERT waits for, so every ingestion process lands at once. Not a transaction with anything: a failed or
-- repeated landing leaves rows that land again, and the modeller keeps the first delivery of each order id.
INSERT INTO LANDED_ORDERS (
    LANDING_ID, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, ORDER_ID, ORDER_TIMESTAMP, CUSTOMER_ID, CUSTOMER_NAME,
    CUSTOMER_REGION, PRODUCT_ID, PRODUCT_NAME, CATEGORY, PRICE, QUANTITY, CONTENT_DIGEST, RECORD_KEY, RECORD_VALUE,
    LANDED_AT)
SELECT
    s.LANDING_ID, s.SOURCE_TOPIC, s.SOURCE_PARTITION, s.SOURCE_OFFSET, s.ORDER_ID, s.ORDER_TIMESTAMP, s.CUSTOMER_ID,
    s.CUSTOMER_NAME, s.CUSTOMER_REGION, s.PRODUCT_ID, s.PRODUCT_NAME, s.CATEGORY, s.PRICE, s.QUANTITY, s.CONTENT_DIGEST,
    s.RECORD_KEY, s.RECORD_VALUE, s.LANDED_AT
FROM {landed} AS s;
