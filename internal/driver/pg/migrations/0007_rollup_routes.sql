-- 0007 rollup of HTTP routes: requests per hour (width 1) and per UTC day
-- (width 24), record type, route and method, with how many failed (status
-- 400 or more) and a DDSketch of their durations, which Perf reads instead
-- of probing each request's params. Like the other rollups (migration
-- 0005) it is derived data that the rollup runner and `auditctl rollup
-- --rebuild` rewrite from the events. The coverage is reset, so that the
-- next build (the runner's, or a rebuild) fills this table for every hour
-- it covers before the questions read it.

-- Requests: events with a route param and a duration (Event.Duration, else
-- the ms param), by their record type (event_types.id), route and method
-- params (their text, as event_parameter_values.value).
CREATE TABLE rollup_routes (
    width         smallint NOT NULL,
    bucket        timestamptz NOT NULL,
    event_type_id uuid NOT NULL,
    route         text NOT NULL,
    method        text,
    n             bigint NOT NULL,
    errors        bigint NOT NULL,     -- of status 400 or more
    dur_sketch    bytea                -- the durations' DDSketch (see rollup_types)
);
CREATE INDEX rollup_routes_bucket ON rollup_routes (width, bucket);

DELETE FROM rollup_state;
