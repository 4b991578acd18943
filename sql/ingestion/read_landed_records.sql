-- The records as sent (key in base64, value as text) of landed rows ({claims}), to dead-letter conflicts with.
SELECT l.LANDING_ID, l.SOURCE_TOPIC, l.SOURCE_PARTITION, l.SOURCE_OFFSET, l.RECORD_KEY, l.RECORD_VALUE
FROM LANDED_ORDERS AS l
JOIN {claims} AS c
    ON l.LANDING_ID = c.LANDING_ID AND l.SOURCE_TOPIC = c.SOURCE_TOPIC AND l.SOURCE_PARTITION = c.SOURCE_PARTITION
   AND l.SOURCE_OFFSET = c.SOURCE_OFFSET;
