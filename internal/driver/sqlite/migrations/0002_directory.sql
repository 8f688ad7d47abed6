-- 0002 directory: Datagrok's users, groups and groups_relations, in the
-- encodings of 0001. Record types and param names of any length are kept
-- (SQLite indexes have no row limit; the Postgres store indexes a digest).
--
-- A user is users.id = users_sessions.user_id and belongs to groups through
-- its personal group (users.group_id) being a child in groups_relations,
-- nested groups included. The logged user id (Event.UserID) is
-- users.user_key; users.id is that id when it is a canonical UUID, else a
-- UUIDv5 of it, as for sessions.
CREATE TABLE groups (
    id            BLOB PRIMARY KEY,
    name          TEXT NOT NULL,
    friendly_name TEXT,
    personal      INTEGER NOT NULL DEFAULT 0,  -- a user's own group
    -- beyond Datagrok
    group_key     TEXT NOT NULL,               -- the group id as the host service gave it
    group_key_raw BLOB
) STRICT;

CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    login         TEXT,
    friendly_name TEXT,
    group_id      BLOB NOT NULL,               -- the personal group, groups.id
    joined        INTEGER NOT NULL,            -- set by the host, else the first event seen
    picture       TEXT,
    -- beyond Datagrok
    user_key      TEXT NOT NULL,               -- the user id as logged (Event.UserID)
    user_key_raw  BLOB
) STRICT;
CREATE INDEX users_joined ON users (joined);
CREATE INDEX users_group_id ON users (group_id);

CREATE TABLE groups_relations (
    parent_id BLOB NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    child_id  BLOB NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (parent_id, child_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX groups_relations_child ON groups_relations (child_id);

-- users_sessions.user_id becomes users.id, as Datagrok's joins read it; the
-- logged user id moves to user_key. Sessions recorded before keep user_key
-- and get their user_id when the store next sees their user.
DROP INDEX users_sessions_user_started;
ALTER TABLE users_sessions RENAME COLUMN user_id TO user_key;
ALTER TABLE users_sessions RENAME COLUMN user_id_raw TO user_key_raw;
ALTER TABLE users_sessions ADD COLUMN user_id BLOB;
CREATE INDEX users_sessions_user_started ON users_sessions (user_id, started);
