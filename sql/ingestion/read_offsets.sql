-- The stored resume points of one topic: per partition, the furthest of the point a batch transaction stored
-- (INGESTION_OFFSETS) and the points landings recorded (LANDED_PROGRESS; a point forgotten by
-- reset_landed_progress.sql is -1 and left out). Parameters: topic, topic.
SELECT PARTITION_ID, NEXT_OFFSET, LAST_RECORD_DIGEST
FROM (
    SELECT PARTITION_ID, NEXT_OFFSET, LAST_RECORD_DIGEST FROM INGESTION_OFFSETS WHERE TOPIC = ?
    UNION ALL
    SELECT PARTITION_ID, NEXT_OFFSET, LAST_RECORD_DIGEST FROM LANDED_PROGRESS WHERE TOPIC = ? AND NEXT_OFFSET >= 0
) AS p
QUALIFY ROW_NUMBER() OVER (PARTITION BY PARTITION_ID ORDER BY NEXT_OFFSET DESC, LAST_RECORD_DIGEST) = 1;
