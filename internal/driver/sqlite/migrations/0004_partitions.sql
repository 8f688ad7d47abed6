-- 0004 partitions: on Postgres, events and event_parameter_values become
-- partitioned by time. SQLite keeps its tables: retention deletes in short
-- batches, and files made since have auto_vacuum=INCREMENTAL (set before
-- the first table, outside any migration) so the space goes back.
SELECT 1;
