-- Last of the pruning transaction: deletes the outcomes recorded before the cutoff ({prune}: one row, CUTOFF) whose
-- landed row is gone, which prune_landed_orders.sql deleted (the transaction sees its own changes). An outcome whose row
-- is still there (one that statement did not see) stays: no landed row is ever left without the outcome it had, to be
-- modelled again.
DELETE FROM LANDED_OUTCOMES
USING {prune} AS p
WHERE LANDED_OUTCOMES.MODELLED_AT < p.CUTOFF
  AND NOT EXISTS (
      SELECT 1
      FROM LANDED_ORDERS AS l
      WHERE l.LANDING_ID = LANDED_OUTCOMES.LANDING_ID
        AND l.SOURCE_TOPIC = LANDED_OUTCOMES.SOURCE_TOPIC
        AND l.SOURCE_PARTITION = LANDED_OUTCOMES.SOURCE_PARTITION
        AND l.SOURCE_OFFSET = LANDED_OUTCOMES.SOURCE_OFFSET);
