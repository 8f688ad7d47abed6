-- 0006 directory history: the directory is written insert-only, so that a
-- role with only INSERT and SELECT (the writer of store/postgres's Grant)
-- can keep it. The first row of a user or group stays in users and groups
-- as first seen (Datagrok's queries on those tables see the first-seen
-- names); each later change appends the whole new state of the user or
-- group to its history, and each change of membership a row here: member
-- true when the child joins the parent, false (a tombstone) when it
-- leaves. groups_relations keeps every membership ever set (a left member
-- stays there). The newest facts are the *_latest views, which read the
-- history: the newest row by id (a UUIDv7, the time it was written).
CREATE TABLE users_history (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    login         text,
    friendly_name text,
    picture       text,
    joined        timestamptz NOT NULL
);
CREATE INDEX users_history_user ON users_history (user_id, id);

CREATE TABLE groups_history (
    id            uuid PRIMARY KEY,
    group_id      uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name          text NOT NULL,
    friendly_name text
);
CREATE INDEX groups_history_group ON groups_history (group_id, id);

CREATE TABLE groups_relations_history (
    id        uuid PRIMARY KEY,
    parent_id uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    child_id  uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member    boolean NOT NULL  -- false: the child left the parent
);
CREATE INDEX groups_relations_history_pair ON groups_relations_history (parent_id, child_id, id);
CREATE INDEX groups_relations_history_child ON groups_relations_history (child_id);

-- The users, groups and memberships as the directory last set them, with
-- the columns of users, groups and groups_relations.
CREATE VIEW users_latest AS
SELECT u.id,
       CASE WHEN h.id IS NULL THEN u.login ELSE h.login END AS login,
       CASE WHEN h.id IS NULL THEN u.friendly_name ELSE h.friendly_name END AS friendly_name,
       u.group_id,
       CASE WHEN h.id IS NULL THEN u.joined ELSE h.joined END AS joined,
       CASE WHEN h.id IS NULL THEN u.picture ELSE h.picture END AS picture,
       u.user_key, u.user_key_raw
FROM users u
LEFT JOIN users_history h ON h.id = (SELECT x.id FROM users_history x WHERE x.user_id = u.id ORDER BY x.id DESC LIMIT 1);

CREATE VIEW groups_latest AS
SELECT g.id,
       CASE WHEN h.id IS NULL THEN g.name ELSE h.name END AS name,
       CASE WHEN h.id IS NULL THEN g.friendly_name ELSE h.friendly_name END AS friendly_name,
       g.personal, g.group_key, g.group_key_raw
FROM groups g
LEFT JOIN groups_history h ON h.id = (SELECT x.id FROM groups_history x WHERE x.group_id = g.id ORDER BY x.id DESC LIMIT 1);

CREATE VIEW groups_relations_latest AS
SELECT r.parent_id, r.child_id
FROM (SELECT parent_id, child_id FROM groups_relations
      UNION SELECT parent_id, child_id FROM groups_relations_history) r
WHERE coalesce((SELECT h.member FROM groups_relations_history h
                WHERE h.parent_id = r.parent_id AND h.child_id = r.child_id ORDER BY h.id DESC LIMIT 1), true);
