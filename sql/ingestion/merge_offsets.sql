-- Advance the resume point of each partition in the batch. Never backwards: a consumer that lost a partition
-- in a rebalance and writes late cannot undo the progress of the one that took it over.
MERGE INTO INGESTION_OFFSETS AS t
USING {offsets} AS s
    ON t.TOPIC = s.TOPIC AND t.PARTITION_ID = s.PARTITION_ID
WHEN MATCHED AND s.NEXT_OFFSET > t.NEXT_OFFSET THEN UPDATE SET
    NEXT_OFFSET = s.NEXT_OFFSET,
    LAST_RECORD_DIGEST = s.LAST_RECORD_DIGEST,
    UPDATED_AT = s.UPDATED_AT
WHEN NOT MATCHED THEN INSERT (TOPIC, PARTITION_ID, NEXT_OFFSET, LAST_RECORD_DIGEST, UPDATED_AT)
VALUES (s.TOPIC, s.PARTITION_ID, s.NEXT_OFFSET, s.LAST_RECORD_DIGEST, s.UPDATED_AT);
