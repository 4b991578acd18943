-- Star schema of the e-commerce pipeline, for DuckDB and Snowflake alike.
-- Applied on every start of the ingestion service: it creates what is missing and never drops, replaces or
-- empties a table. Money is DECIMAL(18,2): exact, with cents (a bare NUMBER would round them away on Snowflake).
-- Timestamps are UTC. BATCH_ID, on customer versions, facts and resume points, is where a batch transaction marks the
-- rows it claims or finds, to prove it is still current (003_batch_marks.sql).

-- Customers, slowly changing (type 2): a new version whenever the name or region changes. VALID_TO is NULL on
-- the current version. LAST_SEEN_AT is the latest order within the version, ORDER_COUNT how many orders point at it.
CREATE TABLE IF NOT EXISTS DIM_CUSTOMER (
    CUSTOMER_SK      BIGINT        NOT NULL PRIMARY KEY,
    CUSTOMER_ID      VARCHAR(64)   NOT NULL,
    CUSTOMER_NAME    VARCHAR(200)  NOT NULL,
    CUSTOMER_REGION  VARCHAR(100)  NOT NULL,
    VALID_FROM       TIMESTAMP     NOT NULL,
    VALID_TO         TIMESTAMP,
    IS_CURRENT       BOOLEAN       NOT NULL,
    LAST_SEEN_AT     TIMESTAMP     NOT NULL,
    ORDER_COUNT      BIGINT,
    BATCH_ID         VARCHAR(32)
);

-- Products: the name and category of each product id's latest order (LAST_ORDER_ID, LAST_SEEN_AT).
CREATE TABLE IF NOT EXISTS DIM_PRODUCT (
    PRODUCT_ID    VARCHAR(64)   NOT NULL PRIMARY KEY,
    PRODUCT_NAME  VARCHAR(200)  NOT NULL,
    CATEGORY      VARCHAR(100)  NOT NULL,
    LAST_SEEN_AT  TIMESTAMP     NOT NULL,
    LAST_ORDER_ID VARCHAR(64)
);

-- Calendar of the days that have orders. WEEKDAY is ISO: 1 = Monday ... 7 = Sunday.
CREATE TABLE IF NOT EXISTS DIM_DATE (
    ORDER_DATE  DATE        NOT NULL PRIMARY KEY,
    DAY         INTEGER     NOT NULL,
    MONTH       INTEGER     NOT NULL,
    YEAR        INTEGER     NOT NULL,
    QUARTER     INTEGER     NOT NULL,
    WEEKDAY     INTEGER     NOT NULL,
    DAY_NAME    VARCHAR(9)  NOT NULL,
    MONTH_NAME  VARCHAR(9)  NOT NULL,
    IS_WEEKEND  BOOLEAN     NOT NULL
);

-- One row per order id, whatever the number of deliveries. CUSTOMER_SK is the customer version valid at
-- ORDER_TIMESTAMP. CONTENT_DIGEST tells a redelivery (same digest) from a conflicting reuse of an id.
-- ORDER_ID is unique without a declared key: the ingestion service checks every batch in its transaction, with the
-- other writers kept out (check_batch_is_current.sql). Snowflake would not enforce a key, and DuckDB would keep its index in memory, about
-- 80 bytes per order (a warehouse created with the key keeps it; it only costs that memory).
CREATE TABLE IF NOT EXISTS FACT_ORDERS (
    ORDER_ID          VARCHAR(64)    NOT NULL,
    ORDER_TIMESTAMP   TIMESTAMP      NOT NULL,
    ORDER_DATE        DATE           NOT NULL,
    CUSTOMER_ID       VARCHAR(64)    NOT NULL,
    CUSTOMER_SK       BIGINT         NOT NULL,
    PRODUCT_ID        VARCHAR(64)    NOT NULL,
    PRICE             DECIMAL(18,2)  NOT NULL,
    QUANTITY          INTEGER        NOT NULL,
    TOTAL_AMOUNT      DECIMAL(18,2)  NOT NULL,
    CONTENT_DIGEST    VARCHAR(64)    NOT NULL,
    SOURCE_TOPIC      VARCHAR(255)   NOT NULL,
    SOURCE_PARTITION  INTEGER        NOT NULL,
    SOURCE_OFFSET     BIGINT         NOT NULL,
    INGESTED_AT       TIMESTAMP      NOT NULL,
    BATCH_ID          VARCHAR(32)
);

-- Where ingestion resumes: per topic partition, the next offset to read, written in the same transaction as
-- the rows. LAST_RECORD_DIGEST identifies the record just before NEXT_OFFSET, so a reset or different cluster
-- (whose offsets mean other records) is detected instead of trusted.
CREATE TABLE IF NOT EXISTS INGESTION_OFFSETS (
    TOPIC               VARCHAR(255)  NOT NULL,
    PARTITION_ID        INTEGER       NOT NULL,
    NEXT_OFFSET         BIGINT        NOT NULL,
    LAST_RECORD_DIGEST  VARCHAR(64)   NOT NULL,
    UPDATED_AT          TIMESTAMP     NOT NULL,
    BATCH_ID            VARCHAR(32),
    PRIMARY KEY (TOPIC, PARTITION_ID)
);
