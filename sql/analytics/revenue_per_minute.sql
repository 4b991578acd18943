-- Orders and revenue per minute and category since an instant, for the live chart of the sales dashboard.
-- Parameter: since (UTC timestamp).
SELECT
    DATE_TRUNC('minute', f.ORDER_TIMESTAMP) AS MINUTE,
    p.CATEGORY,
    COUNT(*)                                AS ORDERS,
    SUM(f.TOTAL_AMOUNT)                     AS REVENUE
FROM FACT_ORDERS AS f
JOIN DIM_PRODUCT AS p ON p.PRODUCT_ID = f.PRODUCT_ID
WHERE f.ORDER_TIMESTAMP >= ?
GROUP BY 1, 2
ORDER BY 1, 2;
