-- After a modelling transaction failed: which of the landed rows it read ({claims}) another transaction has taken.
SELECT l.LANDING_ID, l.SOURCE_PARTITION, l.SOURCE_OFFSET
FROM LANDED_ORDERS AS l
JOIN {claims} AS c
    ON l.LANDING_ID = c.LANDING_ID AND l.SOURCE_TOPIC = c.SOURCE_TOPIC AND l.SOURCE_PARTITION = c.SOURCE_PARTITION
   AND l.SOURCE_OFFSET = c.SOURCE_OFFSET
WHERE l.MODEL_BATCH IS NOT NULL;
