-- Products keep the name and category of their most recent order, whatever order the events arrive in. Orders
-- at the very same instant are ranked by order id (the smallest speaks), so every writer and every arrival
-- order ends with the same row. A row from before LAST_ORDER_ID existed yields on such a tie.
MERGE INTO DIM_PRODUCT AS t
USING {products} AS s
    ON t.PRODUCT_ID = s.PRODUCT_ID
WHEN MATCHED AND (s.LAST_SEEN_AT > t.LAST_SEEN_AT
                  OR (s.LAST_SEEN_AT = t.LAST_SEEN_AT AND (t.LAST_ORDER_ID IS NULL OR s.LAST_ORDER_ID < t.LAST_ORDER_ID))) THEN UPDATE SET
    PRODUCT_NAME = s.PRODUCT_NAME,
    CATEGORY = s.CATEGORY,
    LAST_SEEN_AT = s.LAST_SEEN_AT,
    LAST_ORDER_ID = s.LAST_ORDER_ID
WHEN NOT MATCHED THEN INSERT (PRODUCT_ID, PRODUCT_NAME, CATEGORY, LAST_SEEN_AT, LAST_ORDER_ID)
VALUES (s.PRODUCT_ID, s.PRODUCT_NAME, s.CATEGORY, s.LAST_SEEN_AT, s.LAST_ORDER_ID);
