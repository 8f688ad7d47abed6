// Package sqlstore holds what the SQL stores (store/postgres, store/sqlite)
// share: the shape of the Datagrok-compatible tables, the mapping between an
// [audit.Event] and its rows, the encoding of param values, the deterministic
// ids of registry rows and sessions, the in-memory registry cache, and the
// building of read queries.
//
// Dialect differences (placeholders, table qualification, how times and ids
// are passed) go through the small [Dialect] interface, so they stay in one
// visible place in each store.
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
