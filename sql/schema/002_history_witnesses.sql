-- Brings a warehouse created before these columns existed up to date (001 already has them for a new one). Cheap
-- when there is nothing to do: the counts are filled only where they are missing.
-- DIM_CUSTOMER.ORDER_COUNT: orders pointing at each version, which lets a writer see that a history changed.
-- DIM_PRODUCT.LAST_ORDER_ID: the order that gave a product its name, to rank orders at the same instant.
ALTER TABLE DIM_CUSTOMER ADD COLUMN IF NOT EXISTS ORDER_COUNT BIGINT;
ALTER TABLE DIM_PRODUCT ADD COLUMN IF NOT EXISTS LAST_ORDER_ID VARCHAR(64);
UPDATE DIM_CUSTOMER
SET ORDER_COUNT = c.ORDERS
FROM (
    SELECT f.CUSTOMER_SK, COUNT(*) AS ORDERS
    FROM FACT_ORDERS AS f
    JOIN DIM_CUSTOMER AS d
        ON d.CUSTOMER_SK = f.CUSTOMER_SK
    WHERE d.ORDER_COUNT IS NULL
    GROUP BY f.CUSTOMER_SK
) AS c
WHERE DIM_CUSTOMER.CUSTOMER_SK = c.CUSTOMER_SK;
UPDATE DIM_CUSTOMER SET ORDER_COUNT = 0 WHERE ORDER_COUNT IS NULL;
