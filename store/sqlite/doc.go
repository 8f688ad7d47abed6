// Package sqlite is the SQLite store: the embedded default, for trying the
// library and for small services that run it without a database server. It
// uses modernc.org/sqlite (pure Go, no cgo) and writes one file.
//
// # Tables
//
// The tables, their column names and their meaning are those of the Postgres
// store (see store/postgres): events, event_types, event_parameters,
// event_parameter_values and users_sessions, in Datagrok's schema (and
// chain_digests and events.digest_id of the digest chain, package chain;
// the directory's users, groups and groups_relations, written insert-only
// with their history tables and *_latest views, as there), with the
// same _raw columns for strings that are not valid text. A query written for
// one store reads the other's tables once its literals are encoded as
// SQLite's are here:
//
//   - ids (uuid in Postgres) are BLOBs of the UUID's 16 bytes, which sort as
//     the UUID does: ORDER BY id is time order for the UUIDv7 ids of events
//     (see below for ids in SQL);
//   - times (timestamptz) are INTEGER microseconds since 1970-01-01 UTC, the
//     stores' resolution: range queries on event_time compare integers in
//     the index, and datetime(event_time / 1000000, 'unixepoch') reads one;
//   - booleans are INTEGER 0 or 1, raw bytes BLOB, events.options TEXT.
//
// In SQL, lower(hex(id)) shows an id, and unhex of its hex digits is the
// literal of one:
//
//	SELECT lower(hex(id)), description FROM events WHERE id = unhex(replace(?, '-', ''))
//	SELECT datetime(event_time / 1000000, 'unixepoch'), description FROM events
//	WHERE event_time >= unixepoch('now', '-7 days') * 1000000
//
// The tables are STRICT (a value of the wrong type is refused, not
// converted). The embedded, versioned migrations ([Migrations]) are applied
// by [Open] and recorded in audit_migrations.
//
// # Opening
//
// As every store of this module: [Open] migrates, unless Options.NoMigrate
// (for a file migrated by hand with the script of [MigrationSQL]).
// Options.ReadOnly opens the file read-only, for tools that only read: no
// file is created, nothing is migrated and no connection takes the write
// lock. [Store.Pending] tells, reading only, whether the file is up to
// date.
//
// # Concurrency
//
// The database runs in WAL mode: reads never wait for writes, nor writes for
// reads. Each Store writes through one connection, so writes of one process
// queue in Go, and every write transaction takes the database's write lock
// when it begins (BEGIN IMMEDIATE), so writes of several processes queue on
// the busy timeout ([Options].BusyTimeout, 10s by default) instead of
// failing. Reads use a pool of read-only connections. Processes that open a
// new file at the same moment migrate it once between them.
//
// # Writes
//
// [Store.Write] writes a batch in one transaction, with multi-row INSERTs
// within SQLite's limit of bound values per statement. It is idempotent on
// the event id: events are inserted with ON CONFLICT (id) DO NOTHING, and
// only the events that were inserted get their param values written. The
// registry of event types and parameters is cached in memory and shared with
// the Postgres store: a type or parameter met for the first time is inserted
// with a deterministic id and ON CONFLICT DO NOTHING in its own statement,
// before the batch's transaction, so processes that meet it at the same
// moment agree on one row. Sessions are recorded in the batch's transaction.
//
// Errors from the driver are translated: a lock not had within the busy
// timeout, or a file that cannot be opened or written, wraps
// [audit.ErrUnavailable]; a constraint violation [audit.ErrConflict]; the
// driver's *sqlite.Error stays reachable with errors.As.
//
// # Reads
//
// [Store.Read] implements [audit.Reader] in SQL; [Store.Activity] lists the
// events that name an object; [Store.DB] gives the read-only connections for
// queries of your own.
//
// # Retention
//
// [Store.Retain] deletes events older than their level's period (Datagrok's
// defaults: audit 365 days; error, warning, info, usage 183; debug 30;
// [Options].Retention, or the settings through Options.RetentionPolicy)
// with their param values, then the sessions and users no event names after
// the sessions period, in transactions of 300 events that each hold the
// write lock briefly. Files the store creates have auto_vacuum=INCREMENTAL,
// so the freed pages go back to the file system after each run; an older
// file reuses them for new rows, or gives them back after
// "PRAGMA auto_vacuum = INCREMENTAL; VACUUM;" once. Options.RetentionInterval
// runs it in the background.
package sqlite
