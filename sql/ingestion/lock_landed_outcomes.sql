-- First of the pruning transaction (then prune_landed_orders.sql, prune_landed_outcomes.sql): takes LANDED_OUTCOMES'
-- lock, changing no row. An UPDATE locks the table it changes, not rows, so it takes the lock also when it changes
-- none, and holds it to the end of the transaction (docs.snowflake.com/en/sql-reference/transactions, "Resource
-- locking"; the SQL API double does the same). So pruning waits for a running modelling transaction before it locks
-- LANDED_ORDERS, where landings would wait with it, and no modelling transaction commits an outcome while it prunes.
UPDATE LANDED_OUTCOMES
SET BATCH_ID = BATCH_ID
WHERE 1 = 0;
