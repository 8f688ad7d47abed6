// Package postgres is the Postgres store: the one production services use.
//
// # Tables
//
// The store writes Datagrok's audit tables with Datagrok's table and column
// names, so a query written for Datagrok's audit tables reads these:
//
//   - events: id, event_time, event_type_id, session_id, description,
//     friendly_name (NULL), error_message (the description of error events),
//     error_stack_trace, is_error, comment, options; beyond Datagrok: level,
//     error_stack_trace_hash (the event's fingerprint), user_id, duration_ns.
//   - event_types: id, name and friendly_name (the record type), source (the
//     level), is_error, error_source, error_stack_trace_hash, comment. One row
//     per (record type, level, fingerprint): the registry key.
//   - event_parameters: id, event_type_id, name, type. The type is the kind of
//     the value ([audit.Kind.String]): 'entity_id' marks object references.
//     One row per (event type, name, kind).
//   - event_parameter_values: event_id, parameter_id, value (text with
//     Datagrok's semantics: 'null', '42', 'true', ...; so value::int works),
//     value_uuid (object references whose id is a UUID); beyond Datagrok:
//     entity_kind (the object's kind, NULL for values that are not object
//     references).
//   - users_sessions: id, user_id, started, ip; beyond Datagrok:
//     session_key, user_key. Sessions are text ids in an [audit.Event]:
//     users_sessions.id is the session id itself when it is a UUID in
//     canonical form, else a UUIDv5 of it, and session_key keeps the id as
//     logged. One row per session, inserted (never updated) by the first
//     batch that meets the session (started is the time of that batch's
//     earliest event of it, user_id the users.id of its first user, user_key
//     that user's id as logged, ip its first client_ip param). An event with a user and no session gets
//     the user's implicit session of its UTC day (a deterministic id, an
//     empty session_key), so every event with a user has a session row;
//     it still reads back without a session id. events.friendly_name is the
//     message, else the record type. Each session gets one datagrok-started
//     event (level info, at the session's start, an id derived from the
//     session's, so written once), by which Datagrok counts sessions; its
//     events.comment is 'synthetic', and Read and the analysis package leave
//     such events out.
//   - users: id, login, friendly_name, group_id (the user's personal group),
//     joined, picture; beyond Datagrok: user_key. users.id is derived from the
//     logged user id as users_sessions.id is from the session id. A user seen
//     in an event gets a row (login the logged id, joined the time of the
//     first event written) and a personal group; the first row wins.
//   - groups: id, name, friendly_name, personal; groups_relations:
//     parent_id, child_id (nested membership: a user is in a group when its
//     personal group is a child, directly or through subgroups).
//   - users_history, groups_history, groups_relations_history: the
//     directory ([Store.PutUser], [Store.PutGroup], [Store.SetMembers]) is
//     written insert-only, so that a [Writer] role keeps it. users and
//     groups keep the first row of each user and group; each later change
//     appends the user's or group's whole new state to its history, and
//     each change of membership a row (member false, a tombstone, when the
//     child leaves; groups_relations keeps every membership ever set). The
//     views users_latest, groups_latest and groups_relations_latest, with
//     the columns of the tables, give the newest facts (the newest history
//     row by id, a UUIDv7). The trade-off: Datagrok's queries on users,
//     groups and groups_relations see the first-seen names and every
//     membership ever set; read the views for the current directory.
//   - chain_digests, and events.digest_id: the tamper-evident digest chain
//     that a store with Options.Chain writes, one record per batch in the
//     batch's transaction (see package chain); digest_id is NULL without.
//
// Every text column X also has a bytea column X_raw, NULL unless the string
// had NUL bytes or invalid UTF-8, which Postgres text rejects: then X holds
// [audit.Text] of the string and X_raw its original bytes, and reads return
// the original. A bad string therefore never fails a batch.
//
// Indexes serve the reads that matter: events by time, by type, by session,
// by user and by fingerprint (each with time), object references by id (a hash
// index on value for every object reference, UUID or not; a btree on
// (value, entity_kind, event_time, event_id) for those whose id and kind fit
// a btree row, up to 800 and 100 bytes, which gives an object's events in
// time order from the index alone; and a btree on value_uuid), and event
// types by fingerprint. Record types and param names
// of any length are kept, as on SQLite: the registry's unique indexes hold a
// SHA-256 digest of them, not the text. User ids and fingerprints are in
// btree indexes, which hold values of up to about 2,700 bytes: longer ones
// are refused by the server (the error is marked permanent).
//
// events and event_parameter_values have no foreign keys (the store writes
// them whole, one batch per transaction; per-row key checks would cost much
// of COPY's speed); event_parameters references event_types.
//
// # Migrations
//
// The tables are created by embedded, versioned migrations ([Migrations]),
// applied by [Store.Migrate] under a transaction-scoped advisory lock, so many
// instances may start at once against an empty database. [MigrationSQL]
// prints the same as one script for psql, for those who apply schema changes
// by hand. [Options].Schema puts the tables in a schema other than public.
//
// # Opening
//
// As every store of this module: [Open] connects and migrates, unless
// Options.NoMigrate (for a role that may not change the schema, or a schema
// migrated by hand); [New] and [NewPool] never migrate. [Store.Pending]
// tells, reading only, whether the schema is up to date.
//
// [Open] and [New] talk to Postgres through lib/pq (a *sqlx.DB; batches are
// written with lib/pq's CopyIn). [NewPool] takes a pgx v5 pool instead
// (batches written with pgx's CopyFrom; other statements through pgx's
// database/sql adapter on the same pool). Both behave alike: the
// conformance suite, the exactly-once test and the write benchmark run on
// both.
//
// # Writes
//
// [Store.Write] writes a batch in one transaction with COPY. It is idempotent
// on the event id: when COPY meets an id that is stored already (a retried
// batch), the transaction is redone without the stored events. The registry of
// event types and parameters is cached in memory; a type or parameter met for
// the first time is inserted with a deterministic id and ON CONFLICT DO
// NOTHING, in its own statement before the batch's transaction, so processes
// that meet it at the same moment agree on one row and the cache never holds a
// row that was rolled back.
//
// Errors from the driver are translated: a connection failure wraps
// [audit.ErrUnavailable], a constraint violation [audit.ErrConflict], and the
// driver's *pq.Error (or pgx's *pgconn.PgError) stays reachable with
// errors.As.
//
// # Reads
//
// [Store.Read] implements [audit.Reader] in SQL; [Store.Activity] lists the
// events that name an object.
//
// # Partitions
//
// events and event_parameter_values are range-partitioned by event_time:
// calendar months by default ([Options].Partition: weeks or days), named
// events_pYYYYMMDD and event_parameter_values_pYYYYMMDD after their first
// day. Column names and types are Datagrok's, so SQL written for the plain
// tables runs unchanged (and prunes partitions when it filters on
// event_time). Beyond Datagrok, event_parameter_values has event_time, the
// time of its event, which the store writes: rows of one event are in
// partitions of the same range.
//
// A partitioned table's primary key must hold the partition key: events
// has PRIMARY KEY (event_time, id), which also orders reads by time, and
// each partition a unique index on id alone; event_parameter_values has
// PRIMARY KEY (event_id, parameter_id, event_time). Exactly-once holds as
// before: a retried event carries its time, so it lands in the partition
// that holds it and fails on its id there, and the store redoes the batch
// without the events stored (see Writes). The one duplicate these keys do
// not see is an id sent again with a time in another partition.
//
// [Store.Migrate] creates the partitions from the month before now's to
// three months ahead; a batch with times in a range that has none creates it
// first (within ten years back and a year ahead). Everything else (and the
// rows of a role that may not create tables) goes to the DEFAULT partitions,
// events_default and event_parameter_values_default, so no write fails for
// lack of a partition. A range whose rows are in the DEFAULT partition
// already keeps them there.
//
// A database created before partitions existed keeps its plain tables when
// migration 4 finds events in them (it adds event_parameter_values.event_time,
// which the store fills from then on). [Store.Partition] (auditctl migrate
// --partition) converts it live: it fills event_time of the older values in
// batches, bounds both tables with CHECK constraints added NOT VALID and
// then validated, builds the new keys' indexes CONCURRENTLY, and in one short
// transaction renames the tables to events_legacy and
// event_parameter_values_legacy, creates the partitioned tables and attaches
// the old ones as one partition each (the validated constraints spare the
// scan). Stack traces are compressed with lz4 where the server has it.
//
// # Retention
//
// [Store.Retain] deletes events older than their level's period (Datagrok's
// defaults: audit 365 days; error, warning, info, usage 183; debug 30;
// [Options].Retention, or the settings through Options.RetentionPolicy),
// with their param values, then the sessions and users no event names
// after the sessions period. Partitions whose whole range is older than
// every level's cutoff are dropped (waiting at most 500 ms for the table
// lock); the rest goes in statements of 5,000 events, each its own
// transaction that locks only the rows it deletes. The retention's
// BeforeExpire hook runs first, with the cutoffs. A session advisory lock
// makes one store of all processes run it at a time;
// Options.RetentionInterval runs it in the background.
//
// # Rollups
//
// The tables rollup_types, rollup_users, rollup_sessions, rollup_errors and
// rollup_menu (migration 5) hold aggregates of the events per hour (width
// 1) and per UTC day (width 24): events per record type with a DDSketch of
// their durations, per user and type, per session, errors per group and
// user with their first and last time, and menu clicks per item;
// rollup_routes (migration 7) holds HTTP requests per record type, route
// and method with their failures and a DDSketch of their durations.
// rollup_state records the hours they cover (migration 7 empties it, so
// that the next build fills rollup_routes). The analysis package's window questions read them where they
// cover the window. [Store.StartRollups] keeps them current (see it for
// why no event is missed or counted twice), [Store.Rollup] does one run of
// it and [Store.RebuildRollups] recomputes them. They are derived data,
// written by these only.
package postgres
