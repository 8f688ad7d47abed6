// Package storetest is the conformance suite of the audit store contract:
// every [audit.Store] that is also an [audit.Reader] (store/memory,
// store/sqlite, store/postgres, or yours) runs the same behaviour tests with
// [Run].
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store {
//			s := mystore.Open(t.TempDir())
//			t.Cleanup(func() { s.Close(context.Background()) })
//			return s
//		})
//	}
//
// The suite checks that
//
//   - every Event field and every param [audit.Kind] round-trips exactly,
//     including NaN, infinities, -0, extreme integers, nanosecond times and
//     durations, entities with and without a kind and JSON text byte for byte;
//   - strings round-trip byte for byte even when they hold NUL bytes or invalid
//     UTF-8 (SQL stores keep the [audit.Text] form plus the raw bytes), are
//     1 MiB long, or look like SQL;
//   - Write is idempotent on Event.ID, atomic per batch, refuses invalid events
//     with [audit.ErrInvalidEvent], is safe for concurrent use and does not keep
//     the caller's slices;
//   - Read applies every [audit.Query] filter with the semantics of
//     [audit.Query.Matches], orders with [audit.NewestFirst], clamps the page
//     size and pages with keyset cursors that survive concurrent writes.
//
// Stores normalize what they keep the way the SQL stores must: Time in UTC
// truncated to microseconds, and an event without params (nil or empty
// Params) reads back with nil Params. [AsStored] applies that normalization
// to an expected event.
//
// Each subtest gets a new, empty store from the newStore function and most
// run in parallel, so newStore must give each call its own database (a schema
// per test for Postgres, a file per test for SQLite).
//
// The helpers [NewEvent], [Events], [AsStored] and [ReadAll] are exported for
// the tests of stores and sinks.
package storetest
