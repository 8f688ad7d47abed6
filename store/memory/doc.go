// Package memory is an in-memory [audit.Store] and [audit.Reader].
//
// It keeps events in a sorted slice in memory, so it suits tests, examples
// and short-lived tools; nothing survives the process. It follows
// the store contract exactly and passes the conformance suite in
// store/storetest:
//
//   - Write is atomic per batch and idempotent on Event.ID: an ID already
//     stored (or repeated within the batch) keeps its first event.
//   - Write refuses an event with a zero ID, a zero Time or an invalid Level
//     with an error wrapping [audit.ErrInvalidEvent], and then stores nothing
//     of the batch.
//   - Times are kept in UTC, truncated to microseconds, like the SQL stores,
//     so that pagination cursors (which hold microseconds) are exact.
//   - Events are copied on Write and on Read, so callers may reuse or modify
//     their slices. An event without params reads back with nil Params.
//   - Read applies [audit.Query.Matches], orders with [audit.NewestFirst] and
//     pages with [audit.EncodeCursor] cursors.
//
// [New] takes [Options] like every store of this module (there is nothing to
// migrate), and [Store.Activity] lists the events that name an object, as
// the SQL stores' does. A Store is safe for concurrent use. After [Store.Close], Write and Read
// return an error wrapping [audit.ErrClosed].
package memory
