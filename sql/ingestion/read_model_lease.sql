-- Who holds the modelling lease. No parameters.
SELECT HOLDER, EXPIRES_AT FROM MODEL_LEASE WHERE LEASE_ID = 1;
