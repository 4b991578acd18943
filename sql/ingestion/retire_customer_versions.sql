-- Versions that no longer exist: a late order joined two versions into one, or moved where one starts (a
-- version's key says where it starts, so it is replaced rather than stretched back).
DELETE FROM DIM_CUSTOMER
WHERE CUSTOMER_SK IN (SELECT r.CUSTOMER_SK FROM {retired} AS r);
