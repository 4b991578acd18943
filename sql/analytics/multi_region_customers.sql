-- Customers who ordered from more than one region: counted over the customer versions their orders point at,
-- so a move between regions shows even though only the latest region is current.
SELECT
    f.CUSTOMER_ID,
    COUNT(DISTINCT c.CUSTOMER_REGION) AS REGIONS,
    COUNT(*)                          AS ORDERS,
    MIN(f.ORDER_TIMESTAMP)            AS FIRST_ORDER_AT,
    MAX(f.ORDER_TIMESTAMP)            AS LAST_ORDER_AT
FROM FACT_ORDERS AS f
JOIN DIM_CUSTOMER AS c ON c.CUSTOMER_SK = f.CUSTOMER_SK
GROUP BY f.CUSTOMER_ID
HAVING COUNT(DISTINCT c.CUSTOMER_REGION) > 1
ORDER BY REGIONS DESC, ORDERS DESC, f.CUSTOMER_ID;
