package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
)

// filterFixture returns named events with varied levels, types, users,
// sessions and objects, for the filter tests.
func filterFixture() map[string]audit.Event {
	const modelID = "0190a5e4-7b1c-7c2e-9f10-6d9a3b2c1e00"
	ev := func(d time.Duration, l audit.Level, typ, user, session string, params ...audit.Param) audit.Event {
		e := at(d, typ, params...)
		e.Level, e.UserID, e.SessionID = l, user, session
		return e
	}
	s := time.Second
	return map[string]audit.Event{
		"a": ev(1*s, audit.LevelAudit, "query-start", "alice", "s1", audit.P("query", audit.Ref("query", "q1"))),
		"b": ev(2*s, audit.LevelInfo, "log", "bob", "s2", audit.P("project", audit.Ref("project", "p1"))),
		"c": ev(3*s, audit.LevelError, "error", "alice", "s2", audit.P("query", audit.Ref("", "q1"))),
		"d": ev(4*s, audit.LevelUsage, "usage", "", "", audit.P("table", audit.Ref("table", "db/public/Sales 2024"))),
		"e": ev(5*s, audit.LevelDebug, "query-start", "carol", "s3", audit.P("model", audit.Ref("model", modelID))),
		// Same time as e; a string param that equals an entity id is not a reference.
		"f": ev(5*s, audit.LevelWarning, "log", "alice", "s1", audit.P("query", "q1")),
		"g": ev(6*s, audit.LevelAudit, "entity-shared", "bob", "s1",
			audit.P("from", audit.Ref("project", "p1")), audit.P("to", audit.Ref("query", "q2"))),
		"h": ev(6*s+time.Microsecond, audit.LevelAudit, "log", "dave", "", audit.P("n", 1)),
	}
}

func testFilters(t *testing.T, s Store) {
	fix := filterFixture()
	var all []audit.Event
	for _, e := range fix {
		all = append(all, e)
	}
	// Several batches, not in time order.
	write(t, s, fix["e"], fix["a"])
	write(t, s, fix["h"], fix["c"], fix["b"])
	write(t, s, fix["g"], fix["d"], fix["f"])

	t0 := base()
	ent := func(kind, id string) *audit.Entity { return &audit.Entity{Kind: kind, ID: id} }
	cases := []struct {
		name string
		q    audit.Query
		want string // names of the events, in any order
	}{
		{"none", audit.Query{}, "abcdefgh"},
		{"since inclusive", audit.Query{Since: t0.Add(3 * time.Second)}, "cdefgh"},
		{"until exclusive", audit.Query{Until: t0.Add(3 * time.Second)}, "ab"},
		{"since and until", audit.Query{Since: t0.Add(2 * time.Second), Until: t0.Add(5 * time.Second)}, "bcd"},
		{"since microsecond", audit.Query{Since: t0.Add(6*time.Second + time.Microsecond)}, "h"},
		{"until microsecond", audit.Query{Until: t0.Add(6*time.Second + time.Microsecond)}, "abcdefg"},
		// Bounds finer than the stored microseconds keep their meaning.
		{"since nanosecond", audit.Query{Since: t0.Add(6*time.Second + time.Nanosecond)}, "h"},
		{"until nanosecond", audit.Query{Until: t0.Add(6*time.Second + time.Nanosecond)}, "abcdefg"},
		{"until just before", audit.Query{Until: t0.Add(6*time.Second - time.Nanosecond)}, "abcdef"},
		{"since in other zone", audit.Query{Since: t0.Add(5 * time.Second).In(time.FixedZone("X", 7200))}, "efgh"},
		{"empty range", audit.Query{Since: t0.Add(5 * time.Second), Until: t0.Add(5 * time.Second)}, ""},
		{"level", audit.Query{Levels: []audit.Level{audit.LevelAudit}}, "agh"},
		{"levels", audit.Query{Levels: []audit.Level{audit.LevelError, audit.LevelUsage}}, "cd"},
		{"type", audit.Query{Types: []string{"query-start"}}, "ae"},
		{"types", audit.Query{Types: []string{"log", "usage"}}, "bdfh"},
		{"type unknown", audit.Query{Types: []string{"nope"}}, ""},
		{"user", audit.Query{UserIDs: []string{"alice"}}, "acf"},
		{"users", audit.Query{UserIDs: []string{"bob", "carol"}}, "beg"},
		{"user unknown", audit.Query{UserIDs: []string{"mallory"}}, ""},
		{"session", audit.Query{SessionIDs: []string{"s2"}}, "bc"},
		{"sessions", audit.Query{SessionIDs: []string{"s1", "s3"}}, "aefg"},
		{"object by id", audit.Query{Object: ent("", "q1")}, "ac"},
		{"object by kind and id", audit.Query{Object: ent("query", "q1")}, "a"},
		{"object wrong kind", audit.Query{Object: ent("project", "q1")}, ""},
		{"object in second param", audit.Query{Object: ent("query", "q2")}, "g"},
		{"object in two events", audit.Query{Object: ent("", "p1")}, "bg"},
		{"object non-uuid id", audit.Query{Object: ent("", "db/public/Sales 2024")}, "d"},
		{"object non-uuid id and kind", audit.Query{Object: ent("table", "db/public/Sales 2024")}, "d"},
		{"object uuid id", audit.Query{Object: ent("", "0190a5e4-7b1c-7c2e-9f10-6d9a3b2c1e00")}, "e"},
		{"object uuid id and kind", audit.Query{Object: ent("model", "0190a5e4-7b1c-7c2e-9f10-6d9a3b2c1e00")}, "e"},
		{"object uuid id wrong kind", audit.Query{Object: ent("query", "0190a5e4-7b1c-7c2e-9f10-6d9a3b2c1e00")}, ""},
		{"object unknown", audit.Query{Object: ent("", "q3")}, ""},
		{"levels and user and object and since", audit.Query{
			Levels:  []audit.Level{audit.LevelAudit, audit.LevelError},
			UserIDs: []string{"alice"},
			Object:  ent("", "q1"),
			Since:   t0.Add(2 * time.Second),
		}, "c"},
		{"type and session and until", audit.Query{
			Types:      []string{"log"},
			SessionIDs: []string{"s1"},
			Until:      t0.Add(6 * time.Second),
		}, "f"},
		{"every filter", audit.Query{
			Since:      t0.Add(time.Second),
			Until:      t0.Add(7 * time.Second),
			Levels:     []audit.Level{audit.LevelAudit},
			Types:      []string{"entity-shared", "log"},
			UserIDs:    []string{"bob", "dave"},
			SessionIDs: []string{"s1"},
			Object:     ent("project", "p1"),
		}, "g"},
		{"disjoint filters", audit.Query{UserIDs: []string{"alice"}, Types: []string{"usage"}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var want []audit.Event
			for _, name := range strings.Split(c.want, "") {
				want = append(want, fix[name])
			}
			// Cross-check the expectation with the reference semantics.
			for _, e := range all {
				ok, err := c.q.Matches(&e)
				if err != nil || ok != strings.Contains(c.want, nameOf(fix, e)) {
					t.Fatalf("test case disagrees with Query.Matches on %s: %v, %v", nameOf(fix, e), ok, err)
				}
			}
			got := readAll(t, s, c.q)
			if diff := eventsDiff(newestFirst(want), got); diff != "" {
				t.Errorf("Read (-want +got):\n%s\nwant %q, got %q", diff, c.want, names(fix, got))
			}
			// The same with pages of one event.
			q := c.q
			q.Limit = 1
			if diff := eventsDiff(newestFirst(want), readAll(t, s, q)); diff != "" {
				t.Errorf("Read with Limit 1 (-want +got):\n%s", diff)
			}
		})
	}
}

func nameOf(fix map[string]audit.Event, e audit.Event) string {
	for name, f := range fix {
		if f.ID == e.ID {
			return name
		}
	}
	return "?"
}

func names(fix map[string]audit.Event, events []audit.Event) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString(nameOf(fix, e))
	}
	return b.String()
}

func testTies(t *testing.T, s Store) {
	// Same Time; the ids differ in the first or only in the last byte, and
	// include bytes >= 0x80 so that signed comparisons show.
	ids := []uuid.UUID{
		idWith(0xff, 0xff), idWith(0xff, 0x00), idWith(0x80, 0x01), idWith(0x7f, 0xff),
		idWith(0x01, 0x80), idWith(0x01, 0x7f), idWith(0x00, 0x01),
	}
	want := make([]audit.Event, len(ids))
	for i, id := range ids {
		want[i] = at(time.Second, "tie")
		want[i].ID = id
		want[i].Message = fmt.Sprint(i)
	}
	older, newer := at(0, "older"), at(2*time.Second, "newer")
	shuffled := append([]audit.Event{older, newer}, want...)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, e := range shuffled {
		write(t, s, e)
	}
	want = append(append([]audit.Event{newer}, want...), older)
	got := readAll(t, s, audit.Query{})
	if diff := eventsDiff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := eventsDiff(want, readAll(t, s, audit.Query{Limit: 2})); diff != "" {
		t.Errorf("order with Limit 2 (-want +got):\n%s", diff)
	}
}

// writeSeries writes n events one second apart, in groups of three
// that share a Time, and returns them as Read returns them.
func writeSeries(t *testing.T, s Store, n int, mod func(i int, e *audit.Event)) []audit.Event {
	t.Helper()
	events := make([]audit.Event, n)
	for i := range events {
		events[i] = at(time.Duration(i/3)*time.Second, "series", audit.P("i", i))
		if mod != nil {
			mod(i, &events[i])
		}
	}
	write(t, s, events...)
	return newestFirst(events)
}

// walk reads every page of q, checking that each page but the last is full
// and has a Next, and that the last has none.
func walk(t *testing.T, s Store, q audit.Query, between func(page int, next string)) (all []audit.Event, pages int) {
	t.Helper()
	for pages = 1; ; pages++ {
		page, err := s.Read(t.Context(), q)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		all = append(all, page.Events...)
		if page.Next == "" {
			if len(page.Events) == 0 && pages > 1 {
				t.Errorf("page %d is empty: the previous page should have had no Next", pages)
			}
			return all, pages
		}
		if len(page.Events) != q.PageSize() {
			t.Errorf("page %d has %d events and a Next, want %d", pages, len(page.Events), q.PageSize())
		}
		if pages > 1000 {
			t.Fatalf("more than 1000 pages")
		}
		if between != nil {
			between(pages, page.Next)
		}
		q.After = page.Next
	}
}

func testPagination(t *testing.T, s Store) {
	want := writeSeries(t, s, 23, nil)
	for _, limit := range []int{1, 2, 3, 5, 22} {
		got, pages := walk(t, s, audit.Query{Limit: limit}, nil)
		if wantPages := (23 + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
		if diff := eventsDiff(want, got); diff != "" {
			t.Errorf("limit %d (-want +got):\n%s", limit, diff)
		}
	}
}

func testPaginationExactMultiple(t *testing.T, s Store) {
	want := writeSeries(t, s, 12, nil)
	for _, limit := range []int{3, 4, 6, 12} {
		got, pages := walk(t, s, audit.Query{Limit: limit}, nil)
		if pages != 12/limit {
			t.Errorf("limit %d: %d pages, want %d (the last full page has no Next)", limit, pages, 12/limit)
		}
		if diff := eventsDiff(want, got); diff != "" {
			t.Errorf("limit %d (-want +got):\n%s", limit, diff)
		}
	}
	// A single page holding everything has no Next.
	page, err := s.Read(t.Context(), audit.Query{Limit: 12})
	if err != nil || page.Next != "" || len(page.Events) != 12 {
		t.Errorf("Read(Limit 12) = %d events, Next %q, %v; want 12, no Next", len(page.Events), page.Next, err)
	}
}

func testPaginationFiltered(t *testing.T, s Store) {
	// 30 events: 9 of alice in the middle (i = 12..20), bob's before and after.
	all := writeSeries(t, s, 30, func(i int, e *audit.Event) {
		e.UserID = "bob"
		if i >= 12 && i <= 20 {
			e.UserID = "alice"
		}
	})
	var want []audit.Event
	for _, e := range all {
		if e.UserID == "alice" {
			want = append(want, e)
		}
	}
	for _, limit := range []int{2, 3, 9} {
		got, pages := walk(t, s, audit.Query{UserIDs: []string{"alice"}, Limit: limit}, nil)
		if wantPages := (9 + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages, want %d (no Next when only non-matching events are older)", limit, pages, wantPages)
		}
		if diff := eventsDiff(want, got); diff != "" {
			t.Errorf("limit %d (-want +got):\n%s", limit, diff)
		}
	}
}

func testPaginationConcurrentWrites(t *testing.T, s Store) {
	want := writeSeries(t, s, 12, nil)
	got, _ := walk(t, s, audit.Query{Limit: 5}, func(page int, next string) {
		cursorTime, _, err := audit.DecodeCursor(next)
		if err != nil {
			t.Fatalf("Page.Next %q: %v", next, err)
		}
		// Newer events, an event that ties with the cursor but sorts before
		// it, and a retry of everything: none may show up in later pages.
		tie := at(0, "tie")
		tie.Time, tie.ID = cursorTime, idWith(0xff, 0xff)
		write(t, s, at(time.Hour+time.Duration(page)*time.Second, "newer"), tie)
		write(t, s, want...)
	})
	if diff := eventsDiff(want, got); diff != "" {
		t.Errorf("walk with writes between pages (-want +got):\n%s", diff)
	}
}

func testInvalidCursor(t *testing.T, s Store) {
	writeSeries(t, s, 3, nil)
	for _, after := range []string{"not a cursor!", "AAAA", "%%%", strings.Repeat("A", 33)} {
		_, err := s.Read(t.Context(), audit.Query{After: after})
		if !errors.Is(err, audit.ErrInvalidCursor) {
			t.Errorf("Read(After %q) = %v, want an error wrapping audit.ErrInvalidCursor", after, err)
		}
	}
}

func testDefaultLimit(t *testing.T, s Store) {
	want := writeSeries(t, s, audit.DefaultLimit+1, nil)
	for _, limit := range []int{0, -1} {
		page, err := s.Read(t.Context(), audit.Query{Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != audit.DefaultLimit || page.Next == "" {
			t.Errorf("Read(Limit %d) = %d events, Next %q; want %d and a Next", limit, len(page.Events), page.Next, audit.DefaultLimit)
		}
		rest, err := s.Read(t.Context(), audit.Query{Limit: limit, After: page.Next})
		if err != nil {
			t.Fatal(err)
		}
		if diff := eventsDiff(want[audit.DefaultLimit:], rest.Events); diff != "" || rest.Next != "" {
			t.Errorf("second page (-want +got):\n%s\nNext %q", diff, rest.Next)
		}
	}
	page, err := s.Read(t.Context(), audit.Query{Limit: audit.DefaultLimit + 1})
	if err != nil || len(page.Events) != audit.DefaultLimit+1 || page.Next != "" {
		t.Errorf("Read(Limit %d) = %d events, Next %q, %v; want all, no Next", audit.DefaultLimit+1, len(page.Events), page.Next, err)
	}
}

func testMaxLimit(t *testing.T, s Store) {
	const n = audit.MaxLimit + 1
	var batch []audit.Event
	for i := range n {
		batch = append(batch, at(time.Duration(i)*time.Millisecond, "max"))
		if len(batch) == 1000 || i == n-1 {
			write(t, s, batch...)
			batch = batch[:0]
		}
	}
	for _, limit := range []int{audit.MaxLimit, audit.MaxLimit + 1, 1 << 30} {
		page, err := s.Read(t.Context(), audit.Query{Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != audit.MaxLimit || page.Next == "" {
			t.Errorf("Read(Limit %d) = %d events, Next %q; want %d and a Next", limit, len(page.Events), page.Next, audit.MaxLimit)
			continue
		}
		rest, err := s.Read(t.Context(), audit.Query{Limit: limit, After: page.Next})
		if err != nil || len(rest.Events) != 1 || rest.Next != "" {
			t.Errorf("second page = %d events, Next %q, %v; want 1, no Next", len(rest.Events), rest.Next, err)
		} else if !rest.Events[0].Time.Equal(base()) {
			t.Errorf("second page holds the event at %v, want the oldest (%v)", rest.Events[0].Time, base())
		}
	}
}
