-- The full history of the customers in the batch, oldest version first.
SELECT v.CUSTOMER_SK, v.CUSTOMER_ID, v.CUSTOMER_NAME, v.CUSTOMER_REGION, v.VALID_FROM, v.VALID_TO, v.LAST_SEEN_AT, v.ORDER_COUNT
FROM DIM_CUSTOMER AS v
JOIN {customers} AS k
    ON v.CUSTOMER_ID = k.CUSTOMER_ID
ORDER BY v.CUSTOMER_ID, v.VALID_FROM;
