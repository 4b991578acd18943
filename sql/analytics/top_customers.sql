-- Repeat customers of the recent past: more than one order since the given instant, most orders first
-- (revenue, then id, break ties so the answer is stable). Parameters: since (UTC timestamp), row limit.
SELECT
    f.CUSTOMER_ID,
    c.CUSTOMER_NAME,
    c.CUSTOMER_REGION,
    COUNT(*)               AS ORDERS,
    SUM(f.TOTAL_AMOUNT)    AS REVENUE,
    MAX(f.ORDER_TIMESTAMP) AS LAST_ORDER_AT
FROM FACT_ORDERS AS f
JOIN DIM_CUSTOMER AS c ON c.CUSTOMER_ID = f.CUSTOMER_ID AND c.IS_CURRENT
WHERE f.ORDER_TIMESTAMP >= ?
GROUP BY f.CUSTOMER_ID, c.CUSTOMER_NAME, c.CUSTOMER_REGION
HAVING COUNT(*) > 1
ORDER BY ORDERS DESC, REVENUE DESC, f.CUSTOMER_ID
LIMIT ?;
