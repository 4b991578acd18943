-- Makes the modelling lease's one row, when a process finds none. A MERGE, so that processes doing it at once make one.
MERGE INTO MODEL_LEASE AS t
USING (SELECT 1 AS LEASE_ID) AS s
    ON t.LEASE_ID = s.LEASE_ID
WHEN NOT MATCHED THEN INSERT (LEASE_ID, HOLDER, EXPIRES_AT) VALUES (s.LEASE_ID, NULL, NULL);
