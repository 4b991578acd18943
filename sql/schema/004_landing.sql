-- The landing layer, written when Ingestion:WritePath is Landed (see docs/write-path.md). Ingestion processes only
-- append here, which Snowflake lets many sessions do at once; one modeller at a time (MODEL_LEASE) turns what has
-- landed into facts and customer versions.

-- Every valid order event as it was read, with where it came from; appended, never updated (an UPDATE here would take
-- a lock that landings may have to wait for). A record may land more than once (a retried write, a partition that
-- moved to another process before its last landing was seen): the modeller keeps the first delivery of each order id,
-- as ingestion always has. RECORD_KEY (base64) and RECORD_VALUE (the JSON as sent) are what a conflict is
-- dead-lettered with.
CREATE TABLE IF NOT EXISTS LANDED_ORDERS (
    LANDING_ID        VARCHAR(32)    NOT NULL,
    SOURCE_TOPIC      VARCHAR(255)   NOT NULL,
    SOURCE_PARTITION  INTEGER        NOT NULL,
    SOURCE_OFFSET     BIGINT         NOT NULL,
    ORDER_ID          VARCHAR(64)    NOT NULL,
    ORDER_TIMESTAMP   TIMESTAMP      NOT NULL,
    CUSTOMER_ID       VARCHAR(64)    NOT NULL,
    CUSTOMER_NAME     VARCHAR(200)   NOT NULL,
    CUSTOMER_REGION   VARCHAR(100)   NOT NULL,
    PRODUCT_ID        VARCHAR(64)    NOT NULL,
    PRODUCT_NAME      VARCHAR(200)   NOT NULL,
    CATEGORY          VARCHAR(100)   NOT NULL,
    PRICE             DECIMAL(18,2)  NOT NULL,
    QUANTITY          INTEGER        NOT NULL,
    CONTENT_DIGEST    VARCHAR(64)    NOT NULL,
    RECORD_KEY        VARCHAR,
    RECORD_VALUE      VARCHAR        NOT NULL,
    LANDED_AT         TIMESTAMP      NOT NULL
);

-- What modelling made of each landed row (NEW, DUPLICATE or CONFLICT), written by the modelling transaction that took
-- it (MODEL_BATCH); a landed row without one waits to be modelled. Only modelling transactions write here, and pruning
-- (Ingestion:LandedRetention) deletes. BATCH_ID is
-- where a later modelling transaction marks an outcome it finds for a row it read as waiting, to refuse itself
-- (sql/ingestion/take_landed_rows.sql).
CREATE TABLE IF NOT EXISTS LANDED_OUTCOMES (
    LANDING_ID        VARCHAR(32)    NOT NULL,
    SOURCE_TOPIC      VARCHAR(255)   NOT NULL,
    SOURCE_PARTITION  INTEGER        NOT NULL,
    SOURCE_OFFSET     BIGINT         NOT NULL,
    OUTCOME           VARCHAR(16)    NOT NULL,
    MODEL_BATCH       VARCHAR(32)    NOT NULL,
    MODELLED_AT       TIMESTAMP      NOT NULL,
    BATCH_ID          VARCHAR(32)
);

-- Where each landing left each partition: one row per landing and partition, appended, never updated. A partition
-- resumes after the furthest of these and INGESTION_OFFSETS (read_offsets.sql).
CREATE TABLE IF NOT EXISTS LANDED_PROGRESS (
    LANDING_ID          VARCHAR(32)   NOT NULL,
    TOPIC               VARCHAR(255)  NOT NULL,
    PARTITION_ID        INTEGER       NOT NULL,
    NEXT_OFFSET         BIGINT        NOT NULL,
    LAST_RECORD_DIGEST  VARCHAR(64)   NOT NULL,
    LANDED_AT           TIMESTAMP     NOT NULL
);

-- Which ingestion process models, until when: one row, made by the first process that finds none
-- (sql/ingestion/create_model_lease.sql; not here, where processes starting together would each try). Advisory: it keeps processes from modelling the same rows at once and
-- refusing each other; what makes modelling exactly-once is what its transaction checks (check_batch_is_current.sql, or
-- check_landed_claims.sql in a cycle without new orders).
CREATE TABLE IF NOT EXISTS MODEL_LEASE (
    LEASE_ID    INTEGER       NOT NULL,
    HOLDER      VARCHAR(64),
    EXPIRES_AT  TIMESTAMP
);
