// Package sqlstore holds what the SQL stores (store/postgres, store/sqlite)
// share: the shape of the Datagrok-compatible tables, the mapping between an
// [audit.Event] and its rows ([EncodeBatch]), the encoding of param values,
// the deterministic ids of registry rows and sessions, the in-memory registry
// cache, the users_sessions upsert ([SessionsUpsert]), the reads ([Read],
// [Activity]) and the loading of versioned migration files.
//
// Dialect differences (placeholders, table qualification, how times and ids
// are passed) go through the small [Dialect] interface, so they stay in one
// visible place in each store. What each store does its own way stays in the
// store: Postgres writes batches with COPY and migrates under an advisory
// lock; SQLite writes multi-row INSERTs in BEGIN IMMEDIATE transactions.
//
// # Text columns
//
// Every text field of an event (message, type, user id, session id, stack
// trace, fingerprint, param names, values and entity kinds) is written as
// [audit.Text] of it. When that changed the string (NUL bytes, invalid
// UTF-8), the original bytes go to the column of the same name with the
// suffix _raw (bytea or blob), which is NULL otherwise; reads return the
// original. See [EncodeText] and [DecodeText].
package sqlstore
