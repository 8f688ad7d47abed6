-- 0004 partitions: events and event_parameter_values range-partitioned by
-- event_time, with Datagrok's column names and types. A partitioned table's
-- primary key must hold the partition key, so:
--   - events: PRIMARY KEY (event_time, id), which also serves time-ordered
--     reads (the former events_time index is gone), and in each partition a
--     unique index on id (events_<partition>_id_key, made by the store with
--     the partition). A retried event carries its time, so it fails on the
--     key of its partition; an id sent again with a time in another
--     partition is the one duplicate these keys do not see.
--   - event_parameter_values gets event_time, its event's time, written by
--     the store: PRIMARY KEY (event_id, parameter_id, event_time).
-- Partitions (events_pYYYYMMDD, event_parameter_values_pYYYYMMDD) are
-- created by the store ahead of time and on demand; the DEFAULT partitions
-- take any row no other partition covers, so a write never fails for lack of
-- one. Stack traces, the only large values, are compressed with lz4 where
-- the server has it. Keys led by time or by a UUIDv7 id grow at their right
-- edge: their pages are filled whole (fillfactor 100) instead of to 90%.
-- event_time sits before the text columns, where it needs no alignment
-- padding.
--
-- A database whose events table is empty is converted here. One that holds
-- events keeps its plain tables (plus the event_time column, filled by the
-- store from now on) until converted live with auditctl migrate --partition
-- (see the store/postgres package doc).

CREATE FUNCTION audit_create_partitioned() RETURNS void
    LANGUAGE plpgsql SET search_path FROM CURRENT
    AS $fn$
BEGIN
    CREATE TABLE events (
        id                         uuid NOT NULL,
        event_time                 timestamptz NOT NULL,
        event_type_id              uuid NOT NULL,
        session_id                 uuid,
        description                text NOT NULL DEFAULT '',
        friendly_name              text,
        error_message              text,
        error_stack_trace          text,
        is_error                   boolean NOT NULL DEFAULT false,
        comment                    text,
        options                    jsonb,
        level                      text NOT NULL,
        error_stack_trace_hash     text,
        user_id                    text,
        duration_ns                bigint,
        description_raw            bytea,
        error_stack_trace_raw      bytea,
        error_stack_trace_hash_raw bytea,
        user_id_raw                bytea,
        digest_id                  uuid,  -- 0003: chain_digests.id
        PRIMARY KEY (event_time, id) WITH (fillfactor = 100)
    ) PARTITION BY RANGE (event_time);
    CREATE INDEX events_type_time ON events (event_type_id, event_time);
    CREATE INDEX events_session_time ON events (session_id, event_time) WHERE session_id IS NOT NULL;
    CREATE INDEX events_user_time ON events (user_id, event_time) WHERE user_id IS NOT NULL;
    CREATE INDEX events_error_stack_trace_hash_time ON events (error_stack_trace_hash, event_time)
        WHERE error_stack_trace_hash IS NOT NULL;
    CREATE TABLE events_default PARTITION OF events DEFAULT;
    CREATE UNIQUE INDEX events_default_id_key ON events_default (id) WITH (fillfactor = 100);

    CREATE TABLE event_parameter_values (
        event_id        uuid NOT NULL,
        parameter_id    uuid NOT NULL,
        event_time      timestamptz NOT NULL,  -- the event's time: the partition key
        value           text,
        value_uuid      uuid,
        value_raw       bytea,
        entity_kind     text,
        entity_kind_raw bytea,
        PRIMARY KEY (event_id, parameter_id, event_time) WITH (fillfactor = 100)
    ) PARTITION BY RANGE (event_time);
    CREATE INDEX event_parameter_values_entity ON event_parameter_values USING hash (value)
        WHERE entity_kind IS NOT NULL;
    CREATE INDEX event_parameter_values_value_uuid ON event_parameter_values (value_uuid)
        WHERE value_uuid IS NOT NULL;
    CREATE TABLE event_parameter_values_default PARTITION OF event_parameter_values DEFAULT;

    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE events ALTER COLUMN error_stack_trace SET COMPRESSION lz4;
        ALTER TABLE events_default ALTER COLUMN error_stack_trace SET COMPRESSION lz4;
    END IF;
END
$fn$;

ALTER TABLE event_parameter_values ADD COLUMN event_time timestamptz;

DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM events) AND NOT EXISTS (SELECT 1 FROM event_parameter_values) THEN
        DROP TABLE events, event_parameter_values;
        PERFORM audit_create_partitioned();
    END IF;
END
$do$;
