-- Landed path with Ingestion:LandedRetention set, first of the pruning transaction (prune_landed_outcomes.sql is
-- second): deletes the landed orders whose outcome was recorded before the cutoff ({prune}: one row, CUTOFF). A row
-- without an outcome (still waiting to be modelled) is never deleted. Judged by the outcome's time, on the modeller's
-- clock, not by LANDED_AT, written on another process's clock.
-- A DELETE locks its table to the end of the transaction (docs.snowflake.com/en/sql-reference/transactions, "Resource
-- locking"), so landings may wait for it; pruning runs rarely (ModellingService). It locks LANDED_ORDERS, then
-- LANDED_OUTCOMES; a modelling transaction locks LANDED_OUTCOMES and never LANDED_ORDERS: no deadlock.
DELETE FROM LANDED_ORDERS
USING LANDED_OUTCOMES AS o, {prune} AS p
WHERE o.LANDING_ID = LANDED_ORDERS.LANDING_ID
  AND o.SOURCE_TOPIC = LANDED_ORDERS.SOURCE_TOPIC
  AND o.SOURCE_PARTITION = LANDED_ORDERS.SOURCE_PARTITION
  AND o.SOURCE_OFFSET = LANDED_ORDERS.SOURCE_OFFSET
  AND o.MODELLED_AT < p.CUTOFF;
