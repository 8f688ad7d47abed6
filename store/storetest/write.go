package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
)

func testEmptyBatch(t *testing.T, s Store) {
	if err := s.Write(t.Context(), nil); err != nil {
		t.Errorf("Write(nil) = %v, want nil", err)
	}
	if err := s.Write(t.Context(), []audit.Event{}); err != nil {
		t.Errorf("Write(empty) = %v, want nil", err)
	}
	checkAll(t, s)
}

func testSameBatchTwice(t *testing.T, s Store) {
	batch := []audit.Event{at(0, "a"), at(time.Second, "b"), at(2*time.Second, "c")}
	write(t, s, batch...)
	write(t, s, batch...)
	checkAll(t, s, batch...)
}

func testOverlappingBatches(t *testing.T, s Store) {
	a, b, c, d := at(0, "a"), at(time.Second, "b"), at(2*time.Second, "c"), at(3*time.Second, "d")
	write(t, s, a, b)
	write(t, s, b, c, a, d)
	write(t, s, d)
	checkAll(t, s, a, b, c, d)
}

func testChangedEventKeepsOriginal(t *testing.T, s Store) {
	orig := at(0, "original", audit.P("k", "v"), audit.P("obj", audit.Ref("query", "q1")))
	orig.Message, orig.UserID = "first", "alice"
	write(t, s, orig)

	changed := orig
	changed.Time = orig.Time.Add(time.Hour)
	changed.Level = audit.LevelError
	changed.Type = "changed"
	changed.Message = "second"
	changed.UserID = "bob"
	changed.SessionID = "s2"
	changed.Duration = time.Second
	changed.Params = []audit.Param{audit.P("k", "other")}
	other := at(time.Second, "other")
	write(t, s, changed, other)
	checkAll(t, s, orig, other)

	// The change must not be findable either (no second index entry).
	for _, q := range []audit.Query{
		{Types: []string{"changed"}},
		{UserIDs: []string{"bob"}},
		{Levels: []audit.Level{audit.LevelError}},
		{Since: orig.Time.Add(time.Minute)},
	} {
		if got := readAll(t, s, q); len(got) != 0 {
			t.Errorf("Read(%+v) = %d events, want none", q, len(got))
		}
	}
}

func testRepeatedIDInBatch(t *testing.T, s Store) {
	e := at(0, "twice", audit.P("k", 1))
	f := at(time.Second, "once")
	write(t, s, e, f, e)
	checkAll(t, s, e, f)
}

func testInvalidBatch(t *testing.T, s Store) {
	stored := at(0, "stored")
	write(t, s, stored)

	cases := []struct {
		name  string
		spoil func(*audit.Event)
	}{
		{"zero ID", func(e *audit.Event) { e.ID = uuid.Nil }},
		{"zero Time", func(e *audit.Event) { e.Time = time.Time{} }},
		{"level 0", func(e *audit.Event) { e.Level = 0 }},
		{"level past usage", func(e *audit.Event) { e.Level = audit.LevelUsage + 1 }},
		{"level 255", func(e *audit.Event) { e.Level = 255 }},
		{"time past year 9999", func(e *audit.Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"duplicate param key", func(e *audit.Event) { e.Params = []audit.Param{audit.P("k", 1), audit.P("k", "2")} }},
		{"duplicate key among many params", func(e *audit.Event) {
			for i := range 20 {
				e.Params = append(e.Params, audit.P(fmt.Sprintf("k%02d", i), i))
			}
			e.Params = append(e.Params, audit.P("k07", "again"))
		}},
	}
	for _, c := range cases {
		valid := at(time.Second, "valid", audit.P("obj", audit.Ref("query", "q1")))
		invalid := at(2*time.Second, "invalid")
		c.spoil(&invalid)
		// The stored event is repeated so that a store cannot pass by
		// stopping at the first event it already has.
		err := s.Write(t.Context(), []audit.Event{valid, stored, invalid, at(3*time.Second, "after")})
		wantInvalid(t, err, "batch with "+c.name)
	}
	checkAll(t, s, stored)
	if got := readAll(t, s, audit.Query{Object: &audit.Entity{ID: "q1"}}); len(got) != 0 {
		t.Errorf("params of refused events are indexed: object query read %d events", len(got))
	}

	// The store still works.
	next := at(time.Minute, "next")
	write(t, s, next)
	checkAll(t, s, stored, next)
}

func testCallerSlices(t *testing.T, s Store) {
	e := at(0, "copy", audit.P("a", "1"), audit.P("b", 2))
	want := AsStored(e)
	batch := []audit.Event{e}
	write(t, s, batch...)

	// The caller reuses its slices.
	e.Params[0] = audit.P("a", "changed")
	batch[0].Message = "changed"
	checkAll(t, s, want)

	// A reader changes what it read.
	got := readAll(t, s, audit.Query{})
	if len(got) != 1 {
		t.Fatalf("read %d events, want 1", len(got))
	}
	got[0].Params[1] = audit.P("b", "changed")
	checkAll(t, s, want)
}

func testConcurrentWriters(t *testing.T, s Store) {
	const writers, batches, perBatch = 8, 50, 2
	all := make([][][]audit.Event, writers)
	var want []audit.Event
	for w := range all {
		all[w] = make([][]audit.Event, batches)
		for b := range all[w] {
			for i := range perBatch {
				e := at(time.Duration(b)*time.Second+time.Duration(i)*time.Microsecond, fmt.Sprintf("w%d", w),
					audit.P("batch", b), audit.P("obj", audit.Ref("writer", fmt.Sprint(w))))
				all[w][b] = append(all[w][b], e)
				want = append(want, e)
			}
		}
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				if err := s.Write(t.Context(), all[w][b]); err != nil {
					t.Errorf("writer %d, batch %d: %v", w, b, err)
					return
				}
				// Every other batch, retry a neighbour's batch: the same IDs
				// are written by two goroutines at about the same time.
				if b%2 == 0 {
					if err := s.Write(t.Context(), all[(w+1)%writers][b]); err != nil {
						t.Errorf("writer %d, neighbour batch %d: %v", w, b, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	got := checkCount(t, s, len(want))
	if diff := eventsDiff(newestFirst(want), got); diff != "" {
		t.Errorf("stored events (-want +got):\n%s", diff)
	}
	n := len(readAll(t, s, audit.Query{Object: &audit.Entity{Kind: "writer", ID: "3"}}))
	if n != batches*perBatch {
		t.Errorf("events of writer 3: %d, want %d", n, batches*perBatch)
	}
}
