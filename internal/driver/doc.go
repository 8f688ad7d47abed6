// Package driver is the contract between the SQL stores and their
// databases, and what every database shares: the shape of the
// Datagrok-compatible tables, the mapping between an [audit.Event] and its
// rows ([EncodeBatch]), the encoding of param values, the deterministic ids
// of registry rows and sessions, the in-memory registry cache, the
// statements both databases run alike (the users_sessions upsert, the reads
// [Read] and [Activity]), the one builder of event filters ([Where]) and the
// one migrator ([Migrator]).
//
// What differs per database is behind [Dialect] (quoting, placeholders, how
// times and ids are passed, time buckets, error translation), implemented
// by the driver packages, which hold every statement of their database:
// driver/pg (lib/pq and pgx v5: COPY writes, advisory-locked migrations)
// and driver/sqlite (multi-row INSERTs in BEGIN IMMEDIATE transactions,
// read-only connections). Store packages register with [Register] so that
// readers of stores ([Find]: the analysis package) reach their databases
// without importing them.
//
// # Text columns
//
// Every text field of an event (message, type, user id, session id, stack
// trace, fingerprint, param names, values and entity kinds) is written as
// [audit.Text] of it. When that changed the string (NUL bytes, invalid
// UTF-8), the original bytes go to the column of the same name with the
// suffix _raw (bytea or blob), which is NULL otherwise; reads return the
// original. See [EncodeText] and [DecodeText].
package driver
