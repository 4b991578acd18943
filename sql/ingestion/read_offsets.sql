-- The stored resume points of one topic. Parameter: topic.
SELECT PARTITION_ID, NEXT_OFFSET, LAST_RECORD_DIGEST
FROM INGESTION_OFFSETS
WHERE TOPIC = ?;
