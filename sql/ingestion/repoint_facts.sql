-- After a late event split a customer's history, point each of that customer's orders at the version valid
-- at its timestamp. {versions} holds the complete history of just those customers. (The target table is named,
-- not aliased: the form of UPDATE ... FROM that both Snowflake and DuckDB document.)
UPDATE FACT_ORDERS
SET CUSTOMER_SK = v.CUSTOMER_SK
FROM {versions} AS v
WHERE FACT_ORDERS.CUSTOMER_ID = v.CUSTOMER_ID
  AND FACT_ORDERS.ORDER_TIMESTAMP >= v.VALID_FROM
  AND (v.VALID_TO IS NULL OR FACT_ORDERS.ORDER_TIMESTAMP < v.VALID_TO)
  AND FACT_ORDERS.CUSTOMER_SK <> v.CUSTOMER_SK;
