-- Marks with the batch's BATCH_ID every stored version of the batch's customers ({customers}): the versions as they
-- are now, committed by whoever, not as this batch read them. check_batch_is_current.sql then compares the marked
-- versions' order counts with what the batch read; a version another writer added, changed or removed since shows.
UPDATE DIM_CUSTOMER
SET BATCH_ID = b.ID
FROM {customers} AS k, {batch} AS b
WHERE DIM_CUSTOMER.CUSTOMER_ID = k.CUSTOMER_ID;
