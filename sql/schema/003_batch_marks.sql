-- Brings a warehouse created before these columns existed up to date (001 already has them for a new one).
-- BATCH_ID names the batch transaction that last wrote a row. Beyond lineage, it is how a batch transaction proves it is
-- still current without trusting a plain read of other writers' commits: it marks the rows it claims or finds, and
-- reads back only its own marks (sql/ingestion/check_batch_is_current.sql).
ALTER TABLE FACT_ORDERS ADD COLUMN IF NOT EXISTS BATCH_ID VARCHAR(32);
ALTER TABLE DIM_CUSTOMER ADD COLUMN IF NOT EXISTS BATCH_ID VARCHAR(32);
ALTER TABLE INGESTION_OFFSETS ADD COLUMN IF NOT EXISTS BATCH_ID VARCHAR(32);
