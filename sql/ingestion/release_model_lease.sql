-- Gives the modelling lease up (a process that stops), so that another process takes it at once. Parameter: holder.
UPDATE MODEL_LEASE
SET HOLDER = NULL, EXPIRES_AT = NULL
WHERE LEASE_ID = 1 AND HOLDER = ?;
