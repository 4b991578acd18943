-- In a modelling transaction: takes the landed rows the modeller read ({claims}), marking each with the transaction's
-- id ({batch}) and what it made of the row, where no other modelling transaction has taken it. An UPDATE works on the
-- rows' latest committed version whatever the session has seen, and holds them until the transaction ends; INSERTs
-- (landings) do not wait for it. check_landed_claims.sql then counts the marks.
UPDATE LANDED_ORDERS
SET MODEL_BATCH = b.ID, OUTCOME = c.OUTCOME, MODELLED_AT = c.MODELLED_AT
FROM {claims} AS c, {batch} AS b
WHERE LANDED_ORDERS.LANDING_ID = c.LANDING_ID
  AND LANDED_ORDERS.SOURCE_TOPIC = c.SOURCE_TOPIC
  AND LANDED_ORDERS.SOURCE_PARTITION = c.SOURCE_PARTITION
  AND LANDED_ORDERS.SOURCE_OFFSET = c.SOURCE_OFFSET
  AND LANDED_ORDERS.MODEL_BATCH IS NULL;
