-- Records where a landing left each of its partitions ({progress}), after its orders have landed: a partition resumes
-- after the furthest recorded point (read_offsets.sql), so a landing whose orders did not all land never moves it.
INSERT INTO LANDED_PROGRESS (LANDING_ID, TOPIC, PARTITION_ID, NEXT_OFFSET, LAST_RECORD_DIGEST, LANDED_AT)
SELECT s.LANDING_ID, s.TOPIC, s.PARTITION_ID, s.NEXT_OFFSET, s.LAST_RECORD_DIGEST, s.LANDED_AT
FROM {progress} AS s;
