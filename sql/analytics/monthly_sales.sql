-- Monthly sales by category and region. The region is the one the customer lived in when ordering (the
-- customer version the order points at), not where they live now. Parameters: from (DATE, inclusive), to (DATE,
-- exclusive).
SELECT
    d.YEAR,
    d.MONTH,
    p.CATEGORY,
    c.CUSTOMER_REGION    AS REGION,
    COUNT(*)             AS ORDERS,
    SUM(f.QUANTITY)      AS UNITS,
    SUM(f.TOTAL_AMOUNT)  AS REVENUE
FROM FACT_ORDERS AS f
JOIN DIM_DATE AS d ON d.ORDER_DATE = f.ORDER_DATE
JOIN DIM_PRODUCT AS p ON p.PRODUCT_ID = f.PRODUCT_ID
JOIN DIM_CUSTOMER AS c ON c.CUSTOMER_SK = f.CUSTOMER_SK
WHERE f.ORDER_DATE >= ? AND f.ORDER_DATE < ?
GROUP BY d.YEAR, d.MONTH, p.CATEGORY, c.CUSTOMER_REGION
ORDER BY d.YEAR, d.MONTH, p.CATEGORY, c.CUSTOMER_REGION;
