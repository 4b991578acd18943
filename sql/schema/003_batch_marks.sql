-- Brings a warehouse created before these columns existed up to date (001 already has them for a new one).
-- BATCH_ID is where a batch transaction marks the rows it claims or finds, and reads back only its own marks, to prove it
-- is still current without trusting a plain read of other writers' commits (sql/ingestion/check_batch_is_current.sql).
-- On a resume point it names the batch that last advanced it. Versions keep the mark of the last batch that checked
-- their customer (on Snowflake; on DuckDB reads are exact and nothing is marked there); a fact is only ever marked by
-- a batch that is then refused and rolled back, so in FACT_ORDERS it stays empty.
ALTER TABLE FACT_ORDERS ADD COLUMN IF NOT EXISTS BATCH_ID VARCHAR(32);
ALTER TABLE DIM_CUSTOMER ADD COLUMN IF NOT EXISTS BATCH_ID VARCHAR(32);
ALTER TABLE INGESTION_OFFSETS ADD COLUMN IF NOT EXISTS BATCH_ID VARCHAR(32);
