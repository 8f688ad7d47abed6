-- 0001 init: Datagrok's audit tables (events, event_types, event_parameters,
-- event_parameter_values, users_sessions) with the column names of the
-- Postgres store, in SQLite types. STRICT tables: a value of the wrong type is
-- refused, not converted.
--
-- Encodings (the Postgres type in brackets):
--   ids [uuid]            BLOB, the UUID's 16 bytes: they sort as the UUID
--                         does, so ORDER BY id is time order for UUIDv7 ids;
--                         lower(hex(id)) reads one, unhex(replace('…', '-', ''))
--                         writes one
--   times [timestamptz]   INTEGER, microseconds since 1970-01-01 UTC; read them
--                         with datetime(event_time / 1000000, 'unixepoch')
--   booleans [boolean]    INTEGER, 0 or 1
--   raw bytes [bytea]     BLOB
--   options [jsonb]       TEXT
--
-- Text rule: a text column X whose value had NUL bytes or invalid UTF-8 holds
-- the repaired text (audit.Text) and X_raw holds the original bytes; X_raw is
-- NULL otherwise.

CREATE TABLE users_sessions (
    id              BLOB PRIMARY KEY,  -- the session id if it is a canonical UUID, else UUIDv5 of it
    user_id         TEXT,              -- first user seen in the session
    started         INTEGER NOT NULL,  -- time of its earliest event
    ip              TEXT,
    -- beyond Datagrok
    session_key     TEXT NOT NULL,     -- the session id as logged (Event.SessionID)
    session_key_raw BLOB,
    user_id_raw     BLOB
) STRICT;
CREATE INDEX users_sessions_user_started ON users_sessions (user_id, started);

CREATE TABLE event_types (
    id                     BLOB PRIMARY KEY,
    name                   TEXT NOT NULL,   -- the record type, as friendly_name
    friendly_name          TEXT NOT NULL,   -- the record type (Event.Type)
    source                 TEXT NOT NULL,   -- the level
    is_error               INTEGER NOT NULL DEFAULT 0,
    error_source           TEXT,
    error_stack_trace_hash TEXT,            -- the fingerprint of error types
    comment                TEXT,
    -- beyond Datagrok
    friendly_name_raw      BLOB
) STRICT;
-- The registry key: one row per (record type, level, fingerprint).
CREATE UNIQUE INDEX event_types_key ON event_types
    (friendly_name, source, coalesce(error_stack_trace_hash, ''), coalesce(friendly_name_raw, X''));
CREATE INDEX event_types_error_stack_trace_hash ON event_types (error_stack_trace_hash)
    WHERE error_stack_trace_hash IS NOT NULL;

CREATE TABLE event_parameters (
    id            BLOB PRIMARY KEY,
    event_type_id BLOB NOT NULL REFERENCES event_types (id),
    name          TEXT NOT NULL,
    type          TEXT NOT NULL,  -- the kind of value: 'entity_id' for object references, else string, int64, ...
    -- beyond Datagrok
    name_raw      BLOB
) STRICT;
CREATE UNIQUE INDEX event_parameters_key ON event_parameters
    (event_type_id, name, type, coalesce(name_raw, X''));

-- events and event_parameter_values have no foreign keys, as in the Postgres
-- store: rows are only ever written by the store, a batch at a time in one
-- transaction.
CREATE TABLE events (
    id                         BLOB PRIMARY KEY,
    event_time                 INTEGER NOT NULL,
    event_type_id              BLOB NOT NULL,  -- event_types.id
    session_id                 BLOB,           -- users_sessions.id
    description                TEXT NOT NULL DEFAULT '',
    friendly_name              TEXT,
    error_message              TEXT,           -- the description, for error events
    error_stack_trace          TEXT,
    is_error                   INTEGER NOT NULL DEFAULT 0,
    comment                    TEXT,
    options                    TEXT,
    -- beyond Datagrok
    level                      TEXT NOT NULL,  -- also event_types.source; here so level filters need no join
    error_stack_trace_hash     TEXT,           -- the event's stack fingerprint
    user_id                    TEXT,
    duration_ns                INTEGER,        -- Event.Duration in nanoseconds, NULL when not measured
    description_raw            BLOB,
    error_stack_trace_raw      BLOB,
    error_stack_trace_hash_raw BLOB,
    user_id_raw                BLOB
) STRICT;
CREATE INDEX events_time ON events (event_time, id);
CREATE INDEX events_type_time ON events (event_type_id, event_time);
CREATE INDEX events_session_time ON events (session_id, event_time) WHERE session_id IS NOT NULL;
CREATE INDEX events_user_time ON events (user_id, event_time) WHERE user_id IS NOT NULL;
CREATE INDEX events_error_stack_trace_hash_time ON events (error_stack_trace_hash, event_time)
    WHERE error_stack_trace_hash IS NOT NULL;

-- Small rows keyed by (event_id, parameter_id): stored in the key's b-tree.
CREATE TABLE event_parameter_values (
    event_id        BLOB NOT NULL,  -- events.id
    parameter_id    BLOB NOT NULL,  -- event_parameters.id
    value           TEXT,           -- Datagrok's text semantics: 'null', '42', 'true', ...
    value_uuid      BLOB,           -- object references whose id is a UUID
    -- beyond Datagrok
    value_raw       BLOB,
    entity_kind     TEXT,           -- object references only: the object's kind ('' for none); NULL otherwise
    entity_kind_raw BLOB,
    PRIMARY KEY (event_id, parameter_id)
) STRICT, WITHOUT ROWID;
-- Every object reference, UUID or not, is one lookup on value.
CREATE INDEX event_parameter_values_entity ON event_parameter_values (value)
    WHERE entity_kind IS NOT NULL;
CREATE INDEX event_parameter_values_value_uuid ON event_parameter_values (value_uuid)
    WHERE value_uuid IS NOT NULL;
