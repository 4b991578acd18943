-- After a modelling transaction failed: which of the landed rows it read another transaction has taken ({taken_ranges}:
-- the transaction's ranges of consecutive offsets of one landing and partition, each with its landing's id).
SELECT o.LANDING_ID, o.SOURCE_PARTITION, o.SOURCE_OFFSET
FROM LANDED_OUTCOMES AS o
JOIN {taken_ranges} AS c
    ON c.LANDING_ID = o.LANDING_ID AND o.SOURCE_TOPIC = c.SOURCE_TOPIC AND o.SOURCE_PARTITION = c.SOURCE_PARTITION
   AND o.SOURCE_OFFSET BETWEEN c.FIRST_OFFSET AND c.LAST_OFFSET;
