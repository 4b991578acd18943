-- Takes or renews the modelling lease for a holder, unless another holder's lease is still running.
-- Parameters: holder, expires at, holder, now.
UPDATE MODEL_LEASE
SET HOLDER = ?, EXPIRES_AT = ?
WHERE LEASE_ID = 1 AND (HOLDER IS NULL OR HOLDER = ? OR EXPIRES_AT < ?);
