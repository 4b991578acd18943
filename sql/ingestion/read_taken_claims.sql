-- After a modelling transaction failed: which of the landed rows it read ({claims}) another transaction has taken.
SELECT o.LANDING_ID, o.SOURCE_PARTITION, o.SOURCE_OFFSET
FROM LANDED_OUTCOMES AS o
JOIN {claims} AS c
    ON o.LANDING_ID = c.LANDING_ID AND o.SOURCE_TOPIC = c.SOURCE_TOPIC AND o.SOURCE_PARTITION = c.SOURCE_PARTITION
   AND o.SOURCE_OFFSET = c.SOURCE_OFFSET;
