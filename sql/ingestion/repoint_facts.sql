-- After a batch moved versions of customers that already had orders (a late event split or joined versions),
-- point each of those customers' orders at the version valid at its timestamp. {history} holds the complete
-- new history of just those customers. (The target table is named, not aliased: the form of UPDATE ... FROM
-- that both Snowflake and DuckDB document.)
UPDATE FACT_ORDERS
SET CUSTOMER_SK = v.CUSTOMER_SK
FROM {history} AS v
WHERE FACT_ORDERS.CUSTOMER_ID = v.CUSTOMER_ID
  AND FACT_ORDERS.ORDER_TIMESTAMP >= v.VALID_FROM
  AND (v.VALID_TO IS NULL OR FACT_ORDERS.ORDER_TIMESTAMP < v.VALID_TO)
  AND FACT_ORDERS.CUSTOMER_SK <> v.CUSTOMER_SK;
