-- Landed path, second of the pruning transaction (after prune_landed_orders.sql, which deleted the landed orders these
-- outcomes are of): deletes the outcomes recorded before the cutoff ({prune}: one row, CUTOFF). In the same transaction,
-- so no landed row is ever seen without the outcome it had (it would be modelled again, as a duplicate). This DELETE
-- may wait for a modelling transaction's lock on LANDED_OUTCOMES and then see the outcomes it committed, which
-- prune_landed_orders.sql did not: they are minutes newer than any cutoff (Ingestion:LandedRetention is 10 minutes or
-- more, a cycle seconds), so none is deleted without its landed row.
DELETE FROM LANDED_OUTCOMES
USING {prune} AS p
WHERE LANDED_OUTCOMES.MODELLED_AT < p.CUTOFF;
