-- Quantity sold, orders, average unit price and revenue per product, best sellers first. Parameter: row limit.
SELECT
    p.PRODUCT_ID,
    p.PRODUCT_NAME,
    p.CATEGORY,
    SUM(f.QUANTITY)                     AS QUANTITY_SOLD,
    COUNT(*)                            AS ORDERS,
    CAST(AVG(f.PRICE) AS DECIMAL(18,2)) AS AVERAGE_PRICE,
    SUM(f.TOTAL_AMOUNT)                 AS REVENUE
FROM FACT_ORDERS AS f
JOIN DIM_PRODUCT AS p ON p.PRODUCT_ID = f.PRODUCT_ID
GROUP BY p.PRODUCT_ID, p.PRODUCT_NAME, p.CATEGORY
ORDER BY QUANTITY_SOLD DESC, p.PRODUCT_ID
LIMIT ?;
