-- 0008 object index: the events that name an object, in time order, from
-- the index alone. An object's activity, usage and history read the range
-- (value, entity_kind) of this index: its event_time bounds the time
-- (and prunes partitions), and (event_time, event_id) is the events'
-- primary key, so each event is one probe. The hash index on value of
-- 0001 is now redundant; it stays, as the partition conversion (0004's
-- audit_create_partitioned) still makes it. Building this one takes a SHARE lock on the
-- values table (writes wait) for as long as the build: on a large live
-- database, first create the same index CONCURRENTLY on each partition
-- (any name); this CREATE INDEX then attaches them instead of building.
CREATE INDEX IF NOT EXISTS event_parameter_values_object
    ON event_parameter_values (value, entity_kind, event_time, event_id)
    INCLUDE (value_raw, entity_kind_raw)
    WHERE entity_kind IS NOT NULL;
