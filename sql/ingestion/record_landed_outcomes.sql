-- In a modelling transaction, once its checks passed: what it made of each landed row it took ({claims}).
INSERT INTO LANDED_OUTCOMES (LANDING_ID, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, OUTCOME, MODEL_BATCH, MODELLED_AT)
SELECT c.LANDING_ID, c.SOURCE_TOPIC, c.SOURCE_PARTITION, c.SOURCE_OFFSET, c.OUTCOME, b.ID, c.MODELLED_AT
FROM {claims} AS c
CROSS JOIN {batch} AS b;
