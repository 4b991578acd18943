-- In a modelling transaction, once its checks passed: what it made of each landed row it took ({claims}, each naming
-- its landing by its number in {landings}).
INSERT INTO LANDED_OUTCOMES (LANDING_ID, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, OUTCOME, MODEL_BATCH, MODELLED_AT)
SELECT g.LANDING_ID, c.SOURCE_TOPIC, c.SOURCE_PARTITION, c.SOURCE_OFFSET, c.OUTCOME, b.ID, b.WRITTEN_AT
FROM {claims} AS c
JOIN {landings} AS g
    ON g.LANDING_NO = c.LANDING_NO
CROSS JOIN {batch} AS b;
