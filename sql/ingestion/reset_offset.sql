-- Forget the resume point of one partition (its offsets now mean other records). Parameters: topic, partition.
DELETE FROM INGESTION_OFFSETS
WHERE TOPIC = ? AND PARTITION_ID = ?;
