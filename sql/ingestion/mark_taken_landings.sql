-- First in a modelling transaction: marks with the transaction's id ({batch}) the outcome any
-- other modelling transaction recorded for a landed row this one read as waiting ({claims}: ranges of consecutive
-- offsets of one landing and partition, every one of them read; each names its landing by its number in {landings}).
-- Normally there is none.
-- An UPDATE, not a read: it works on the latest committed rows whatever the session has seen, and
-- the check (check_batch_is_current.sql, or check_landed_claims.sql in a cycle without new orders) reads back only its
-- own marks. Its table lock, held to the end of the transaction, is what makes two modelling transactions take
-- turns: an UPDATE locks the table it changes, not rows, so it takes the lock also when it changes none, as here
-- normally (docs.snowflake.com/en/sql-reference/transactions, "Resource locking"; the SQL API double does the same).
-- Only modelling transactions write LANDED_OUTCOMES, so its lock holds up no landing.
UPDATE LANDED_OUTCOMES
SET BATCH_ID = b.ID
FROM {claims} AS c, {landings} AS g, {batch} AS b
WHERE g.LANDING_NO = c.LANDING_NO
  AND LANDED_OUTCOMES.LANDING_ID = g.LANDING_ID
  AND LANDED_OUTCOMES.SOURCE_TOPIC = c.SOURCE_TOPIC
  AND LANDED_OUTCOMES.SOURCE_PARTITION = c.SOURCE_PARTITION
  AND LANDED_OUTCOMES.SOURCE_OFFSET BETWEEN c.FIRST_OFFSET AND c.LAST_OFFSET;
