-- First statement of every batch transaction: refuse a batch that is no longer current. If another writer has
-- already stored progress past the point where this batch starts in one of its partitions (a consumer that lost
-- its partitions and writes late, or a transaction that ran after its client gave up on it), writing the batch
-- would put an old view of the customers' history over a newer one. Plain SQL has no RAISE that DuckDB and
-- Snowflake share, so the statement fails with a conversion error (its value says why, for whoever reads the
-- log); the transaction is rolled back. The ingestion service learns that the batch was stale by reading the
-- offsets again, not from the error's text, then drops the events already stored and writes the rest.
-- The CASE keeps the failing value to the refused rows whatever order the engine evaluates the query in.
SELECT CAST(CASE WHEN o.NEXT_OFFSET > f.FIRST_OFFSET
                 THEN 'ECOMMERCE_STALE_BATCH: partition ' || CAST(o.PARTITION_ID AS VARCHAR) || ' is already stored up to offset '
                      || CAST(o.NEXT_OFFSET AS VARCHAR)
                 ELSE '0' END AS INTEGER) AS STALE
FROM INGESTION_OFFSETS AS o
JOIN {fence} AS f
    ON o.TOPIC = f.TOPIC AND o.PARTITION_ID = f.PARTITION_ID
WHERE o.NEXT_OFFSET > f.FIRST_OFFSET;
