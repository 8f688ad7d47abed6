-- 0001 init: Datagrok's audit tables (events, event_types, event_parameters,
-- event_parameter_values, users_sessions) with their column names, plus the
-- columns this library needs beyond them. Names are unqualified: the migration
-- runs with search_path set to the store's schema.
--
-- Text rule: a text column X whose value had NUL bytes or invalid UTF-8 holds
-- the repaired text (audit.Text) and X_raw holds the original bytes; X_raw is
-- NULL otherwise.

CREATE TABLE users_sessions (
    id              uuid PRIMARY KEY,     -- the session id if it is a canonical UUID, else UUIDv5 of it
    user_id         text,                 -- first user seen in the session
    started         timestamptz NOT NULL, -- time of its earliest event
    ip              text,
    -- beyond Datagrok
    session_key     text NOT NULL,        -- the session id as logged (Event.SessionID)
    session_key_raw bytea,
    user_id_raw     bytea
);
CREATE INDEX users_sessions_user_started ON users_sessions (user_id, started);

CREATE TABLE event_types (
    id                     uuid PRIMARY KEY,
    name                   text NOT NULL,   -- the record type, as friendly_name
    friendly_name          text NOT NULL,   -- the record type (Event.Type)
    source                 text NOT NULL,   -- the level
    is_error               boolean NOT NULL DEFAULT false,
    error_source           text,
    error_stack_trace_hash text,            -- the fingerprint of error types
    comment                text,
    -- beyond Datagrok
    friendly_name_raw      bytea
);
-- The registry key: one row per (record type, level, fingerprint).
CREATE UNIQUE INDEX event_types_key ON event_types
    (friendly_name, source, coalesce(error_stack_trace_hash, ''), coalesce(friendly_name_raw, ''::bytea));
CREATE INDEX event_types_error_stack_trace_hash ON event_types (error_stack_trace_hash)
    WHERE error_stack_trace_hash IS NOT NULL;

CREATE TABLE event_parameters (
    id            uuid PRIMARY KEY,
    event_type_id uuid NOT NULL REFERENCES event_types (id),
    name          text NOT NULL,
    type          text NOT NULL,  -- the kind of value: 'entity_id' for object references, else string, int64, ...
    -- beyond Datagrok
    name_raw      bytea
);
CREATE UNIQUE INDEX event_parameters_key ON event_parameters
    (event_type_id, name, type, coalesce(name_raw, ''::bytea));

-- events and event_parameter_values have no foreign keys: rows are only ever
-- written by the store, a batch at a time in one transaction, and per-row
-- foreign-key triggers would cost a large part of COPY's throughput.
CREATE TABLE events (
    id                         uuid PRIMARY KEY,
    event_time                 timestamptz NOT NULL,
    event_type_id              uuid NOT NULL,  -- event_types.id
    session_id                 uuid,           -- users_sessions.id
    description                text NOT NULL DEFAULT '',
    friendly_name              text,
    error_message              text,           -- the description, for error events
    error_stack_trace          text,
    is_error                   boolean NOT NULL DEFAULT false,
    comment                    text,
    options                    jsonb,
    -- beyond Datagrok
    level                      text NOT NULL,  -- also event_types.source; here so level filters need no join
    error_stack_trace_hash     text,           -- the event's stack fingerprint
    user_id                    text,
    duration_ns                bigint,         -- Event.Duration in nanoseconds, NULL when not measured
    description_raw            bytea,
    error_stack_trace_raw      bytea,
    error_stack_trace_hash_raw bytea,
    user_id_raw                bytea
);
CREATE INDEX events_time ON events (event_time, id);
CREATE INDEX events_type_time ON events (event_type_id, event_time);
CREATE INDEX events_session_time ON events (session_id, event_time) WHERE session_id IS NOT NULL;
CREATE INDEX events_user_time ON events (user_id, event_time) WHERE user_id IS NOT NULL;
CREATE INDEX events_error_stack_trace_hash_time ON events (error_stack_trace_hash, event_time)
    WHERE error_stack_trace_hash IS NOT NULL;

CREATE TABLE event_parameter_values (
    event_id        uuid NOT NULL,  -- events.id
    parameter_id    uuid NOT NULL,  -- event_parameters.id
    value           text,           -- Datagrok's text semantics: 'null', '42', 'true', ...
    value_uuid      uuid,           -- object references whose id is a UUID
    -- beyond Datagrok
    value_raw       bytea,
    entity_kind     text,           -- object references only: the object's kind ('' for none); NULL otherwise
    entity_kind_raw bytea,
    PRIMARY KEY (event_id, parameter_id)
);
-- Every object reference, UUID or not, is one lookup on value (a hash index:
-- no size limit on the id).
CREATE INDEX event_parameter_values_entity ON event_parameter_values USING hash (value)
    WHERE entity_kind IS NOT NULL;
CREATE INDEX event_parameter_values_value_uuid ON event_parameter_values (value_uuid)
    WHERE value_uuid IS NOT NULL;
