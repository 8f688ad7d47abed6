-- 0003 chain: the tamper-evident digest chain (package chain). Each batch a
-- store writes with a chain writer gets one chain_digests row, written in the
-- batch's transaction, and its events name it in events.digest_id. Records of
-- one writer link by hash (prev_hash is the hash of the writer's record seq-1).
ALTER TABLE events ADD COLUMN digest_id uuid;  -- chain_digests.id; NULL for an unchained store

CREATE TABLE chain_digests (
    id          uuid PRIMARY KEY,
    writer      text NOT NULL,
    seq         bigint NOT NULL,          -- 1, 2, ... per writer
    kind        text NOT NULL,            -- 'batch', or 'expiry' (events expired by retention)
    created     timestamptz NOT NULL,
    events      integer NOT NULL,         -- events in the batch
    first_time  timestamptz,              -- of the batch's earliest and latest events
    last_time   timestamptz,
    prev_hash   bytea NOT NULL,           -- hash of the writer's previous record (32 zero bytes for seq 1)
    events_hash bytea NOT NULL,           -- SHA-256 of entries
    entries     bytea NOT NULL,           -- per event, by id: id, time, level, SHA-256 of its rows
    expiry      text,                     -- expiry records: the cutoffs, JSON {"level": "time"}
    hash        bytea NOT NULL,           -- SHA-256 of the record's fields
    signature   bytea,                    -- of hash, when the writer has a key
    UNIQUE (writer, seq)
);
