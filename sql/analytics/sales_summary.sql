-- Sales of a time window beside the window of the same length just before it, for tiles that show the change:
-- orders, units, revenue and distinct customers per window (IS_CURRENT 1 for the window asked for, 0 for the one
-- before; a window without orders has no row). Parameters: start of the previous window, start and end of the
-- window (UTC timestamps; starts inclusive, end exclusive).
SELECT
    CASE WHEN f.ORDER_TIMESTAMP >= w.START_AT THEN 1 ELSE 0 END AS IS_CURRENT,
    COUNT(*)                      AS ORDERS,
    SUM(f.QUANTITY)               AS UNITS,
    SUM(f.TOTAL_AMOUNT)           AS REVENUE,
    COUNT(DISTINCT f.CUSTOMER_ID) AS CUSTOMERS
FROM FACT_ORDERS AS f
CROSS JOIN (
    SELECT CAST(? AS TIMESTAMP) AS PREVIOUS_AT, CAST(? AS TIMESTAMP) AS START_AT, CAST(? AS TIMESTAMP) AS END_AT
) AS w
WHERE f.ORDER_TIMESTAMP >= w.PREVIOUS_AT
  AND f.ORDER_TIMESTAMP < w.END_AT
GROUP BY 1
ORDER BY 1;
