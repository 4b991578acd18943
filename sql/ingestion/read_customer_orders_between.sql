-- The stored orders of a customer between two instants (both included), for each row of {spans}: the orders of a
-- version that a modelling cycle still running writes, so that the version's key in FACT_ORDERS may not be the one
-- it will have. The caller places each order in the version it falls into by time, which is what a version is.
SELECT f.CUSTOMER_ID, f.ORDER_ID, f.ORDER_TIMESTAMP
FROM FACT_ORDERS AS f
JOIN {spans} AS s
    ON f.CUSTOMER_ID = s.CUSTOMER_ID
   AND f.ORDER_TIMESTAMP >= s.SPAN_FROM
   AND f.ORDER_TIMESTAMP <= s.SPAN_TO;
