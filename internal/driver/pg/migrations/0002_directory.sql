-- 0002 long names: record types and param names of any length, as SQLite
-- keeps them. A b-tree index row holds at most about 2.7 kB, so the registry
-- keys index a SHA-256 digest of the text instead of the text: two names are
-- the same key only when their digests are, and their full text is what the
-- store compares when it looks a key up.

-- textsend, the text's bytes in the database encoding, is only STABLE because
-- the encoding could in principle differ between databases; within one
-- database it is fixed, so the digest is IMMUTABLE, as an index needs.
CREATE FUNCTION audit_text_digest(t text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT pg_catalog.sha256(pg_catalog.textsend(t)) $$;

DROP INDEX event_types_key;
CREATE UNIQUE INDEX event_types_key ON event_types
    (audit_text_digest(friendly_name), source, coalesce(error_stack_trace_hash, ''),
     sha256(coalesce(friendly_name_raw, ''::bytea)));

DROP INDEX event_parameters_key;
CREATE UNIQUE INDEX event_parameters_key ON event_parameters
    (event_type_id, audit_text_digest(name), type, sha256(coalesce(name_raw, ''::bytea)));

-- Datagrok's users and groups, which its own queries join on: a user is
-- users.id = users_sessions.user_id, belongs to groups through its personal
-- group (users.group_id) being a child in groups_relations, nested groups
-- included. The logged user id (Event.UserID) is users.user_key; users.id is
-- that id when it is a canonical UUID, else a UUIDv5 of it, as for sessions.
CREATE TABLE groups (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    friendly_name text,
    personal      boolean NOT NULL DEFAULT false, -- a user's own group
    -- beyond Datagrok
    group_key     text NOT NULL,                  -- the group id as the host service gave it
    group_key_raw bytea
);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    login         text,
    friendly_name text,
    group_id      uuid NOT NULL,                  -- the personal group, groups.id
    joined        timestamptz NOT NULL,           -- set by the host, else the first event seen
    picture       text,
    -- beyond Datagrok
    user_key      text NOT NULL,                  -- the user id as logged (Event.UserID)
    user_key_raw  bytea
);
CREATE INDEX users_joined ON users (joined);
CREATE INDEX users_group_id ON users (group_id);

CREATE TABLE groups_relations (
    parent_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    child_id  uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (parent_id, child_id)
);
CREATE INDEX groups_relations_child ON groups_relations (child_id);

-- users_sessions.user_id becomes users.id, as Datagrok's joins read it; the
-- logged user id moves to user_key. Sessions recorded before keep user_key
-- and get their user_id when the store next sees their user.
DROP INDEX users_sessions_user_started;
ALTER TABLE users_sessions RENAME COLUMN user_id TO user_key;
ALTER TABLE users_sessions RENAME COLUMN user_id_raw TO user_key_raw;
ALTER TABLE users_sessions ADD COLUMN user_id uuid;
CREATE INDEX users_sessions_user_started ON users_sessions (user_id, started);
