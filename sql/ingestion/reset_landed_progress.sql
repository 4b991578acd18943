-- Forget the landed resume points of one partition (its offsets now mean other records), as reset_offset.sql does
-- for the batch transactions' one. Not deleted: a progress row also says that its landing is whole, which the
-- modeller needs to take that landing's waiting orders (read_landed_orders.sql); a forgotten point is -1, which
-- read_offsets.sql leaves out. An UPDATE here may make landings wait for a moment: it runs only when a partition is
-- found to have another history. Parameters: topic, partition.
UPDATE LANDED_PROGRESS
SET NEXT_OFFSET = -1
WHERE TOPIC = ? AND PARTITION_ID = ? AND NEXT_OFFSET >= 0;
