-- 0008 object index: the events that name an object, in time order, from
-- the index alone. An object's activity, usage and history read the range
-- (value, entity_kind) of this index: its event_time bounds the time
-- (and prunes partitions), and (event_time, event_id) is the events'
-- primary key, so each event is one probe. It holds the references whose id
-- and kind are short enough for a btree row (ids up to 800 bytes, kinds up to
-- 100): longer ones are still written, and found through the hash index on
-- value of 0001, which therefore stays. Building this one takes a SHARE lock on the
-- values table (writes wait) for as long as the build: on a large live
-- database, first create the same index CONCURRENTLY on each partition
-- (any name); this CREATE INDEX then attaches them instead of building.
CREATE INDEX IF NOT EXISTS event_parameter_values_object
    ON event_parameter_values (value, entity_kind, event_time, event_id)
    INCLUDE (value_raw, entity_kind_raw)
    WHERE entity_kind IS NOT NULL AND octet_length(value) <= 800 AND octet_length(entity_kind) <= 100;
