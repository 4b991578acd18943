-- Marks with the batch's BATCH_ID every stored row of an order the batch read as new ({new_orders}). Normally there
-- is none; one that is there was stored by another writer after this batch read, and check_batch_is_current.sql, seeing
-- the mark (a change of its own transaction, which every later statement of it sees), refuses the batch, which rolls
-- the mark back. An UPDATE, not a read, because it works on the latest committed rows whatever the session has seen.
UPDATE FACT_ORDERS
SET BATCH_ID = b.ID
FROM {new_orders} AS n, {batch} AS b
WHERE FACT_ORDERS.ORDER_ID = n.ORDER_ID;
