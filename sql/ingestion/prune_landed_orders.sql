-- Landed path with Ingestion:LandedRetention set, second of the pruning transaction (after lock_landed_outcomes.sql,
-- before prune_landed_outcomes.sql): deletes the landed orders whose outcome was recorded before the cutoff ({prune}:
-- one row, CUTOFF). A row without an outcome (still waiting to be modelled) is never deleted. Judged by the outcome's
-- time, on a modeller's clock, not by LANDED_AT, written on another process's clock. Reading LANDED_OUTCOMES, it may
-- miss an outcome committed after the transaction's session started (Snowflake's read consistency across sessions):
-- that row is only kept longer.
-- A DELETE locks its table to the end of the transaction ("Resource locking", as above), so landings wait for the rest
-- of this transaction; a modelling transaction never locks LANDED_ORDERS: no deadlock.
DELETE FROM LANDED_ORDERS
USING LANDED_OUTCOMES AS o, {prune} AS p
WHERE o.LANDING_ID = LANDED_ORDERS.LANDING_ID
  AND o.SOURCE_TOPIC = LANDED_ORDERS.SOURCE_TOPIC
  AND o.SOURCE_PARTITION = LANDED_ORDERS.SOURCE_PARTITION
  AND o.SOURCE_OFFSET = LANDED_ORDERS.SOURCE_OFFSET
  AND o.MODELLED_AT < p.CUTOFF;
