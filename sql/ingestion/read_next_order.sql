-- The first order of a customer strictly between two instants: where a version split by a late event resumes.
-- Parameters: customer id, after, before.
SELECT MIN(ORDER_TIMESTAMP)
FROM FACT_ORDERS
WHERE CUSTOMER_ID = ?
  AND ORDER_TIMESTAMP > ?
  AND ORDER_TIMESTAMP < ?;
