-- Customers who ordered from more than one region: counted over the customer versions their orders point at,
-- so a move between regions shows even though only the latest region is current; with the customer's current
-- name and region, most regions first. Parameter: row limit.
SELECT
    f.CUSTOMER_ID,
    cur.CUSTOMER_NAME,
    cur.CUSTOMER_REGION,
    COUNT(DISTINCT c.CUSTOMER_REGION) AS REGIONS,
    COUNT(*)                          AS ORDERS,
    MIN(f.ORDER_TIMESTAMP)            AS FIRST_ORDER_AT,
    MAX(f.ORDER_TIMESTAMP)            AS LAST_ORDER_AT
FROM FACT_ORDERS AS f
JOIN DIM_CUSTOMER AS c ON c.CUSTOMER_SK = f.CUSTOMER_SK
JOIN DIM_CUSTOMER AS cur ON cur.CUSTOMER_ID = f.CUSTOMER_ID AND cur.IS_CURRENT
GROUP BY f.CUSTOMER_ID, cur.CUSTOMER_NAME, cur.CUSTOMER_REGION
HAVING COUNT(DISTINCT c.CUSTOMER_REGION) > 1
ORDER BY REGIONS DESC, ORDERS DESC, f.CUSTOMER_ID
LIMIT ?;
