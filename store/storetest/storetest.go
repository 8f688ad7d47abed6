package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
)

// Store is what the suite tests: a store that can also be read, and list
// the events that name an object (Datagrok's Activity pane), as every store
// of this module does.
type Store interface {
	audit.Store
	audit.Reader
	audit.Directory
	// Activity returns every event that names obj in a param, newest
	// first, from since until now; a zero since means the store's default
	// window (7 days unless configured).
	Activity(ctx context.Context, obj audit.Entity, since time.Time) ([]audit.Event, error)
}

// Run runs the conformance suite against the stores newStore makes. Each
// subtest calls newStore once and expects a new, empty store; newStore should
// register any cleanup with t.Cleanup. Most subtests call t.Parallel.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Helper()
	run(t, append(appendOnly(), test{"Directory", testDirectory}), newStore)
}

// RunAppendOnly runs the subtests of [Run] that only add rows: everything
// but the directory (PutUser, PutGroup, SetMembers), which updates and
// deletes. A store whose database role may only INSERT and SELECT must pass
// it.
func RunAppendOnly(t *testing.T, newStore func(t *testing.T) Store) {
	t.Helper()
	run(t, appendOnly(), newStore)
}

type test struct {
	name string
	fn   func(t *testing.T, s Store)
}

// appendOnly returns the subtests whose stores only add rows.
func appendOnly() []test {
	return []test{
		{"RoundTrip/Fields", testFields},
		{"RoundTrip/Time", testTime},
		{"RoundTrip/ParamKinds", testParamKinds},
		{"RoundTrip/Minimal", testMinimal},
		{"RoundTrip/NilAndEmptyParams", testNilAndEmptyParams},
		{"RoundTrip/ManyParams", testManyParams},
		{"RoundTrip/Events", testSampleEvents},
		{"Hostile/BadText", testBadText},
		{"Hostile/TextCollisions", testTextCollisions},
		{"Hostile/Large", testLarge},
		{"Hostile/SQLish", testSQLish},
		{"Hostile/LongNames", testLongNames},
		{"Write/EmptyBatch", testEmptyBatch},
		{"Write/SameBatchTwice", testSameBatchTwice},
		{"Write/OverlappingBatches", testOverlappingBatches},
		{"Write/ChangedEventKeepsOriginal", testChangedEventKeepsOriginal},
		{"Write/RepeatedIDInBatch", testRepeatedIDInBatch},
		{"Write/InvalidEventStoresNothing", testInvalidBatch},
		{"Write/CallerSlicesNotKept", testCallerSlices},
		{"Write/ConcurrentWriters", testConcurrentWriters},
		{"Read/Filters", testFilters},
		{"Read/TiesByIDDescending", testTies},
		{"Read/Pagination", testPagination},
		{"Read/PaginationExactMultiple", testPaginationExactMultiple},
		{"Read/PaginationFiltered", testPaginationFiltered},
		{"Read/PaginationConcurrentWrites", testPaginationConcurrentWrites},
		{"Read/InvalidCursor", testInvalidCursor},
		{"Read/DefaultLimit", testDefaultLimit},
		{"Read/MaxLimit", testMaxLimit},
		{"Read/Activity", testActivity},
		{"Sessions", testSessions},
		{"Sessions/Implicit", testImplicitSessions},
	}
}

func run(t *testing.T, tests []test, newStore func(t *testing.T) Store) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tt.fn(t, s)
		})
	}
}

// NewEvent returns a valid event of level audit with the given type and
// params: a new UUIDv7 id, the current time in UTC truncated to
// microseconds, and the params sorted by key. Set other fields on the result.
func NewEvent(typ string, params ...audit.Param) audit.Event {
	params = slices.Clone(params)
	slices.SortStableFunc(params, func(a, b audit.Param) int { return compareStrings(a.Key, b.Key) })
	return audit.Event{
		ID:     uuid.Must(uuid.NewV7()),
		Time:   time.Now().UTC().Truncate(time.Microsecond),
		Level:  audit.LevelAudit,
		Type:   typ,
		Params: params,
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// AsStored returns e as a conforming store reads it back: Time in UTC
// truncated to microseconds, and nil Params when it has none. The Params
// slice is copied.
func AsStored(e audit.Event) audit.Event {
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if len(e.Params) == 0 {
		e.Params = nil
	} else {
		e.Params = slices.Clone(e.Params)
	}
	return e
}

// ReadAll reads every event that matches q, following Page.Next from q.After
// until a page has no Next. It fails if a page repeats the previous cursor or
// has no events but a Next, which would otherwise loop forever.
func ReadAll(ctx context.Context, r audit.Reader, q audit.Query) ([]audit.Event, error) {
	var all []audit.Event
	for {
		page, err := r.Read(ctx, q)
		if err != nil {
			return all, err
		}
		all = append(all, page.Events...)
		if page.Next == "" {
			return all, nil
		}
		if page.Next == q.After || len(page.Events) == 0 {
			return all, fmt.Errorf("storetest: page after %q does not advance (next %q, %d events)", q.After, page.Next, len(page.Events))
		}
		q.After = page.Next
	}
}

// write stores events in one batch and fails the test on error.
func write(t *testing.T, s Store, events ...audit.Event) {
	t.Helper()
	if err := s.Write(t.Context(), events); err != nil {
		t.Fatalf("Write(%d events): %v", len(events), err)
	}
}

// readAll is ReadAll that fails the test on error.
func readAll(t *testing.T, s Store, q audit.Query) []audit.Event {
	t.Helper()
	got, err := ReadAll(t.Context(), s, q)
	if err != nil {
		t.Fatalf("ReadAll(%+v): %v", q, err)
	}
	return got
}

// newestFirst returns the stored form of events, sorted as Read returns them.
func newestFirst(events []audit.Event) []audit.Event {
	if len(events) == 0 {
		return nil // as ReadAll returns no events
	}
	out := make([]audit.Event, len(events))
	for i, e := range events {
		out[i] = AsStored(e)
	}
	slices.SortFunc(out, audit.NewestFirst)
	return out
}

// valueCmp compares param values with ==, the equality of [audit.Value].
var valueCmp = cmpopts.EquateComparable(audit.Value{})

// eventsDiff is [cmp.Diff] for anything holding events or params.
func eventsDiff(want, got any) string { return cmp.Diff(want, got, valueCmp) }

// checkAll reads every event with the zero query and compares with want (in
// any order; the stored form of want is expected, newest first).
func checkAll(t *testing.T, s Store, want ...audit.Event) {
	t.Helper()
	got := readAll(t, s, audit.Query{})
	if diff := eventsDiff(newestFirst(want), got); diff != "" {
		t.Errorf("stored events (-want +got):\n%s", diff)
	}
	for _, e := range got {
		if loc := e.Time.Location(); loc != time.UTC {
			t.Errorf("event %s: Time location %v, want UTC", e.ID, loc)
		}
	}
}

// checkCount reads every event and checks that there are n, each once.
func checkCount(t *testing.T, s Store, n int) []audit.Event {
	t.Helper()
	got := readAll(t, s, audit.Query{Limit: audit.MaxLimit})
	if len(got) != n {
		t.Errorf("read %d events, want %d", len(got), n)
	}
	seen := make(map[uuid.UUID]bool, len(got))
	for _, e := range got {
		if seen[e.ID] {
			t.Errorf("event %s read twice", e.ID)
		}
		seen[e.ID] = true
	}
	return got
}

// base returns the time the suite's fixed events are placed around.
func base() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) }

// at returns a new event at base+d (d at µs precision).
func at(d time.Duration, typ string, params ...audit.Param) audit.Event {
	e := NewEvent(typ, params...)
	e.Time = base().Add(d)
	return e
}

// idWith returns a UUID whose bytes are all b but the last, which is last.
func idWith(b, last byte) uuid.UUID {
	var id uuid.UUID
	for i := range id {
		id[i] = b
	}
	id[15] = last
	return id
}

func wantInvalid(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, audit.ErrInvalidEvent) {
		t.Errorf("Write(%s) = %v, want an error wrapping audit.ErrInvalidEvent", what, err)
	}
}
