-- The stored orders of the customer versions a batch's orders fall into (between a version's first and last
-- order): to place a late order, the orders around it must be known. One query for the whole batch.
SELECT f.CUSTOMER_SK, f.ORDER_ID, f.ORDER_TIMESTAMP
FROM FACT_ORDERS AS f
JOIN {opened} AS v
    ON f.CUSTOMER_SK = v.CUSTOMER_SK;
