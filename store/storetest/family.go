package storetest

import (
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/google/go-cmp/cmp"
)

// testActivity checks Activity: the events that name an object, newest
// first, within the default window when since is zero.
func testActivity(t *testing.T, s Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	ref := func(d time.Duration, obj audit.Entity) audit.Event {
		e := NewEvent("activity", audit.P("obj", obj))
		e.Time = now.Add(-d)
		return e
	}
	old := ref(30*24*time.Hour, audit.Ref("query", "q1"))
	recent := ref(time.Hour, audit.Ref("query", "q1"))
	otherKind := ref(2*time.Hour, audit.Ref("table", "q1"))
	otherID := ref(3*time.Hour, audit.Ref("query", "q2"))
	write(t, s, old, recent, otherKind, otherID)
	for _, tc := range []struct {
		obj   audit.Entity
		since time.Time
		want  []audit.Event
	}{
		{audit.Ref("query", "q1"), time.Time{}, []audit.Event{recent}},
		{audit.Ref("", "q1"), time.Time{}, []audit.Event{recent, otherKind}},
		{audit.Ref("query", "q1"), now.Add(-60 * 24 * time.Hour), []audit.Event{recent, old}},
		{audit.Ref("query", "nobody"), time.Time{}, nil},
	} {
		got, err := s.Activity(t.Context(), tc.obj, tc.since)
		if err != nil {
			t.Fatalf("Activity(%v): %v", tc.obj, err)
		}
		if diff := cmp.Diff(ids(tc.want), ids(got)); diff != "" {
			t.Errorf("Activity(%v, %v) (-want +got):\n%s", tc.obj, tc.since, diff)
		}
	}
}

func ids(events []audit.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ID.String())
	}
	return out
}

// testSessions checks sessions: events read back by session whatever order
// their batches came in; and, on the SQL stores, users_sessions holds one
// row per session with the earliest start and the first user seen.
func testSessions(t *testing.T, s Store) {
	late, early, other := at(10*time.Second, "late"), at(5*time.Second, "early"), at(7*time.Second, "other")
	for i, u := range []string{"", "alice", "bob"} {
		e := []*audit.Event{&late, &early, &other}[i]
		e.SessionID, e.UserID = "s1", u
	}
	for _, e := range []audit.Event{late, early, other} {
		write(t, s, e)
	}
	if diff := cmp.Diff(ids([]audit.Event{late, other, early}), ids(readAll(t, s, audit.Query{SessionIDs: []string{"s1"}}))); diff != "" {
		t.Errorf("events of session s1 (-want +got):\n%s", diff)
	}
	db, err := driver.Find(s)
	if err != nil {
		return // not a SQL store: no users_sessions table
	}
	var rows []struct {
		Key     string          `db:"session_key"`
		User    *string         `db:"user_id"`
		Started driver.ScanTime `db:"started"`
	}
	if err := db.SelectContext(t.Context(), &rows, db.SQL("SELECT session_key, user_id, started FROM {users_sessions}")); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Key != "s1" || rows[0].User == nil || *rows[0].User != "alice" || !rows[0].Started.Equal(early.Time) {
		t.Errorf("users_sessions = %+v, want s1, alice, %s", rows, early.Time)
	}
}
