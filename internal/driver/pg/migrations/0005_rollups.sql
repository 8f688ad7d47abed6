-- 0005 rollups: aggregates of the events per hour (width 1) and per UTC day
-- (width 24), which the window questions of the analysis package read
-- instead of the events when they cover the window. They are derived data:
-- store/postgres's rollup runner rewrites them from the events, and
-- `auditctl rollup --rebuild` rebuilds them; nothing else writes them. Each
-- row is keyed by (width, bucket) and what it counts; a bucket is the start
-- of its hour or day. The events the store writes itself (comment
-- 'synthetic') are not counted, as the questions leave them out.

-- What the rollups cover: every hour in [since, through) is rolled up, and
-- every whole day in it. One row, or none before the first build.
CREATE TABLE rollup_state (
    id      integer PRIMARY KEY CHECK (id = 1),
    since   timestamptz NOT NULL,
    through timestamptz NOT NULL,
    checked timestamptz NOT NULL      -- when counts were last compared with the events
);

-- Events per record type (event_types.id: type, level and fingerprint), and
-- a DDSketch (github.com/DataDog/sketches-go, 1% relative accuracy, its own
-- encoding) of their durations (Event.Duration, else the ms param).
CREATE TABLE rollup_types (
    width         smallint NOT NULL,
    bucket        timestamptz NOT NULL,
    event_type_id uuid NOT NULL,
    n             bigint NOT NULL,
    dur_n         bigint NOT NULL DEFAULT 0,
    dur_sketch    bytea,
    PRIMARY KEY (width, bucket, event_type_id)
);

-- Events per user (NULL for none).
CREATE TABLE rollup_users (
    width         smallint NOT NULL,
    bucket        timestamptz NOT NULL,
    user_id       text,
    user_id_raw   bytea,
    n             bigint NOT NULL
);
CREATE INDEX rollup_users_bucket ON rollup_users (width, bucket);

-- Events per user (not NULL) and record type.
CREATE TABLE rollup_user_types (
    width         smallint NOT NULL,
    bucket        timestamptz NOT NULL,
    user_id       text NOT NULL,
    user_id_raw   bytea,
    event_type_id uuid NOT NULL,
    n             bigint NOT NULL
);
CREATE INDEX rollup_user_types_bucket ON rollup_user_types (width, bucket);

-- Events per session (events without one are not counted here).
CREATE TABLE rollup_sessions (
    width      smallint NOT NULL,
    bucket     timestamptz NOT NULL,
    session_id uuid NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (width, bucket, session_id)
);

-- Errors (level error) per group: the fingerprint, or for errors without
-- one the message, and per user, with the first and last time seen.
CREATE TABLE rollup_errors (
    width       smallint NOT NULL,
    bucket      timestamptz NOT NULL,
    fp          text,
    fp_raw      bytea,
    msg         text,
    msg_raw     bytea,
    user_id     text,
    user_id_raw bytea,
    n           bigint NOT NULL,
    lo          timestamptz NOT NULL,
    hi          timestamptz NOT NULL
);
CREATE INDEX rollup_errors_bucket ON rollup_errors (width, bucket);

-- Clicks per menu item: main-menu-item-click events by their item param.
CREATE TABLE rollup_menu (
    width    smallint NOT NULL,
    bucket   timestamptz NOT NULL,
    item     text,
    item_raw bytea,
    n        bigint NOT NULL
);
CREATE INDEX rollup_menu_bucket ON rollup_menu (width, bucket);
