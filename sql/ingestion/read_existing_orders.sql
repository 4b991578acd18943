-- Orders of the batch that are already in the warehouse, with the digest of their content.
SELECT f.ORDER_ID, f.CONTENT_DIGEST
FROM FACT_ORDERS AS f
JOIN {keys} AS k
    ON f.ORDER_ID = k.ORDER_ID;
