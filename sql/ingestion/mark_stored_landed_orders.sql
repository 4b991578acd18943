-- mark_stored_orders.sql for a modelling transaction (the Landed write path): its new orders are the claims it found
-- NEW ({claims}, each carrying its order id), so they are not staged a second time as a list of ids. As
-- mark_stored_orders.sql, an UPDATE, working on the latest committed facts whatever the session has seen;
-- check_batch_is_current.sql reads back the marks.
UPDATE FACT_ORDERS
SET BATCH_ID = b.ID
FROM {claims} AS c, {batch} AS b
WHERE c.OUTCOME = 'NEW'
  AND FACT_ORDERS.ORDER_ID = c.ORDER_ID;
