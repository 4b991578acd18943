-- After a late event split a customer's history, point each of that customer's orders at the version valid
-- at its timestamp. {versions} holds the complete history of just those customers.
UPDATE FACT_ORDERS AS f
SET CUSTOMER_SK = v.CUSTOMER_SK
FROM {versions} AS v
WHERE f.CUSTOMER_ID = v.CUSTOMER_ID
  AND f.ORDER_TIMESTAMP >= v.VALID_FROM
  AND (v.VALID_TO IS NULL OR f.ORDER_TIMESTAMP < v.VALID_TO)
  AND f.CUSTOMER_SK <> v.CUSTOMER_SK;
