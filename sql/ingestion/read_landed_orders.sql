-- The landed orders no modelling transaction has taken yet, oldest offsets first: per partition at most the given
-- number, lowest offsets first, so the first delivery of an order id within a partition is always modelled before a
-- later one. Parameter: the most rows per partition.
SELECT
    LANDING_ID, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, ORDER_ID, ORDER_TIMESTAMP, CUSTOMER_ID, CUSTOMER_NAME,
    CUSTOMER_REGION, PRODUCT_ID, PRODUCT_NAME, CATEGORY, PRICE, QUANTITY, CONTENT_DIGEST, RECORD_KEY, RECORD_VALUE
FROM LANDED_ORDERS
WHERE MODEL_BATCH IS NULL
QUALIFY ROW_NUMBER() OVER (PARTITION BY SOURCE_TOPIC, SOURCE_PARTITION ORDER BY SOURCE_OFFSET, LANDING_ID) <= ?;
