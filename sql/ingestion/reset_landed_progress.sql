-- Forget the landed resume points of one partition (its offsets now mean other records), as reset_offset.sql does
-- for the batch transactions' one. Parameters: topic, partition.
DELETE FROM LANDED_PROGRESS
WHERE TOPIC = ? AND PARTITION_ID = ?;
