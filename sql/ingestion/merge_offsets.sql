-- First statement of every batch transaction (its MERGE takes INGESTION_OFFSETS' lock, which every batch transaction
-- takes first and holds to its end, so they take turns from here): claim the batch's partitions and advance
-- their resume points, marking each row this batch changed with its BATCH_ID ({batch}). A partition the batch starts
-- in (FIRST_OFFSET) is claimed only if nobody stored it past that point: a consumer that lost its partitions and
-- writes late, or a transaction that ran after its client gave up on it, claims nothing there and
-- check_batch_is_current.sql refuses it (or, on DuckDB, the count of rows this statement changed shows it, and
-- check_partitions_claimed.sql refuses it). A resume point never moves backwards. Each row of {offsets} is changed at
-- most once, and only when its partition is claimed.
-- The decision is made by the MERGE itself, on the rows it changes: a statement that changes rows works on their
-- latest committed version, while a plain read in Snowflake may miss another session's commit of a moment ago.
MERGE INTO INGESTION_OFFSETS AS t
USING (SELECT o.*, b.ID AS BATCH_ID FROM {offsets} AS o CROSS JOIN {batch} AS b) AS s
    ON t.TOPIC = s.TOPIC AND t.PARTITION_ID = s.PARTITION_ID
WHEN MATCHED AND s.NEXT_OFFSET > t.NEXT_OFFSET AND (s.FIRST_OFFSET IS NULL OR t.NEXT_OFFSET <= s.FIRST_OFFSET) THEN UPDATE SET
    NEXT_OFFSET = s.NEXT_OFFSET,
    LAST_RECORD_DIGEST = s.LAST_RECORD_DIGEST,
    UPDATED_AT = s.UPDATED_AT,
    BATCH_ID = s.BATCH_ID
WHEN NOT MATCHED THEN INSERT (TOPIC, PARTITION_ID, NEXT_OFFSET, LAST_RECORD_DIGEST, UPDATED_AT, BATCH_ID)
VALUES (s.TOPIC, s.PARTITION_ID, s.NEXT_OFFSET, s.LAST_RECORD_DIGEST, s.UPDATED_AT, s.BATCH_ID);
