-- First in a modelling transaction: takes the landed rows the cycle read ({claims}: ranges of consecutive offsets of one
-- landing and partition with one outcome, each naming its landing by its number in {landings}), recording in
-- LANDED_OUTCOMES what the cycle made of each (NEW, DUPLICATE or CONFLICT) with the transaction's id as MODEL_BATCH;
-- and marks with that id ({batch}) any outcome another modelling transaction recorded for one of them since the read,
-- instead of recording a second. The check (check_batch_is_current.sql, or check_landed_claims.sql in a cycle without
-- new orders) reads back only those marks, its own transaction's changes, and refuses the cycle if there is one, which
-- rolls back the outcomes recorded beside them. One MERGE in place of an UPDATE that marked first and an INSERT that
-- recorded last: a statement less in the serialised transaction (2026-12-05).
-- A MERGE locks the table it changes, not rows, so it takes the lock also when it matches nothing, as normally here, and
-- holds it to the end of the transaction; a statement that waited for a lock works on the latest committed rows, so it
-- matches what the transaction it waited for recorded (docs.snowflake.com/en/sql-reference/transactions, "Resource
-- locking"; the SQL API double does the same). That lock is what makes two modelling transactions take turns. Only
-- modelling transactions and pruning write LANDED_OUTCOMES, so it holds up no landing.
-- Every offset a range spans is one the cycle read, and the rows it read were committed before the transaction's
-- session started, so the source holds each landed row taken once, and no other.
MERGE INTO LANDED_OUTCOMES AS t
USING (
    SELECT
        l.LANDING_ID, l.SOURCE_TOPIC, l.SOURCE_PARTITION, l.SOURCE_OFFSET, c.OUTCOME, b.ID AS MODEL_BATCH,
        b.WRITTEN_AT AS MODELLED_AT
    FROM {claims} AS c
    JOIN {landings} AS g
        ON g.LANDING_NO = c.LANDING_NO
    JOIN LANDED_ORDERS AS l
        ON l.LANDING_ID = g.LANDING_ID AND l.SOURCE_TOPIC = c.SOURCE_TOPIC AND l.SOURCE_PARTITION = c.SOURCE_PARTITION
       AND l.SOURCE_OFFSET BETWEEN c.FIRST_OFFSET AND c.LAST_OFFSET
    CROSS JOIN {batch} AS b
) AS s
    ON t.LANDING_ID = s.LANDING_ID AND t.SOURCE_TOPIC = s.SOURCE_TOPIC AND t.SOURCE_PARTITION = s.SOURCE_PARTITION
   AND t.SOURCE_OFFSET = s.SOURCE_OFFSET
WHEN MATCHED THEN UPDATE SET
    BATCH_ID = s.MODEL_BATCH
WHEN NOT MATCHED THEN INSERT (LANDING_ID, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, OUTCOME, MODEL_BATCH, MODELLED_AT)
VALUES (s.LANDING_ID, s.SOURCE_TOPIC, s.SOURCE_PARTITION, s.SOURCE_OFFSET, s.OUTCOME, s.MODEL_BATCH, s.MODELLED_AT);
