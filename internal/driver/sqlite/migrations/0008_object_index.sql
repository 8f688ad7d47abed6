-- 0008 object index: on Postgres, an index of the object references by
-- (value, entity_kind, event_time, event_id). SQLite's values have no time,
-- and its index on value already holds the key (event_id, parameter_id).
SELECT 1;
