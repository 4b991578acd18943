-- In a modelling transaction, once its checks passed: what it made of each landed row it took ({claims}: ranges of
-- consecutive offsets of one landing and partition with one outcome, each naming its landing by its number in
-- {landings}). One outcome per landed row in a range: every offset a range spans was read by the cycle, and the rows it
-- read were committed before the transaction's session started, so it sees each of them (and no other).
INSERT INTO LANDED_OUTCOMES (LANDING_ID, SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, OUTCOME, MODEL_BATCH, MODELLED_AT)
SELECT l.LANDING_ID, l.SOURCE_TOPIC, l.SOURCE_PARTITION, l.SOURCE_OFFSET, c.OUTCOME, b.ID, b.WRITTEN_AT
FROM {claims} AS c
JOIN {landings} AS g
    ON g.LANDING_NO = c.LANDING_NO
JOIN LANDED_ORDERS AS l
    ON l.LANDING_ID = g.LANDING_ID AND l.SOURCE_TOPIC = c.SOURCE_TOPIC AND l.SOURCE_PARTITION = c.SOURCE_PARTITION
   AND l.SOURCE_OFFSET BETWEEN c.FIRST_OFFSET AND c.LAST_OFFSET
CROSS JOIN {batch} AS b;
