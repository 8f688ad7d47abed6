-- 0003 chain: the tamper-evident digest chain (package chain), as in the
-- Postgres store: one chain_digests row per batch written with a chain
-- writer, in the batch's transaction; its events name it in events.digest_id.
ALTER TABLE events ADD COLUMN digest_id BLOB;  -- chain_digests.id; NULL for an unchained store

CREATE TABLE chain_digests (
    id          BLOB PRIMARY KEY,
    writer      TEXT NOT NULL,
    seq         INTEGER NOT NULL,         -- 1, 2, ... per writer
    kind        TEXT NOT NULL,            -- 'batch', or 'expiry' (events expired by retention)
    created     INTEGER NOT NULL,         -- microseconds since 1970
    events      INTEGER NOT NULL,
    first_time  INTEGER,
    last_time   INTEGER,
    prev_hash   BLOB NOT NULL,
    events_hash BLOB NOT NULL,
    entries     BLOB NOT NULL,
    expiry      TEXT,
    hash        BLOB NOT NULL,
    signature   BLOB,
    UNIQUE (writer, seq)
) STRICT;
