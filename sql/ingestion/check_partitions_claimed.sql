-- The partitions' part of check_batch_is_current_by_reading.sql alone: refuses a batch that starts in a partition
-- ({offsets} with a FIRST_OFFSET) merge_offsets.sql did not claim for it (marked with the batch's BATCH_ID), because it
-- is already stored past where the batch starts. Run in its place where the warehouse provider knows that nothing has
-- committed since the batch read the warehouse (DuckDB: one process writes the file, and counts its commits), so that
-- the batch's reads still hold (and the customers' versions its writer held from earlier batches, exact at the same
-- count: CustomerVersionCache) and only its claim is left to prove; and there, for a batch that starts in every one of
-- its partitions, only when merge_offsets.sql changed another number of rows than it has partitions (the count proves
-- the claim otherwise: ChangeCountCheck). The refusal is a failed conversion, as there.
SELECT CAST(CASE WHEN c.UNCLAIMED_PARTITIONS > 0
                 THEN 'ECOMMERCE_STALE_BATCH: ' || CAST(c.UNCLAIMED_PARTITIONS AS VARCHAR) || ' partitions are already stored further'
                 ELSE '0' END
            AS INTEGER) AS STALE
FROM (
    SELECT COUNT(*) AS UNCLAIMED_PARTITIONS
    FROM {offsets} AS f
    CROSS JOIN {batch} AS b
    LEFT JOIN INGESTION_OFFSETS AS o
        ON o.TOPIC = f.TOPIC AND o.PARTITION_ID = f.PARTITION_ID AND o.BATCH_ID = b.ID
    WHERE f.FIRST_OFFSET IS NOT NULL AND o.PARTITION_ID IS NULL
) AS c;
