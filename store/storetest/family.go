package storetest

import (
	"fmt"
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
		if diff := eventsDiff(ids(tc.want), ids(got)); diff != "" {
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
// row per session, written once by the first batch that meets it (insert-only:
// a later batch with an earlier event or another user changes nothing).
func testSessions(t *testing.T, s Store) {
	late, early, other := at(10*time.Second, "late"), at(5*time.Second, "early"), at(7*time.Second, "other")
	for i, u := range []string{"alice", "", "bob"} {
		e := []*audit.Event{&late, &early, &other}[i]
		e.SessionID, e.UserID = "s1", u
	}
	for _, e := range []audit.Event{late, early, other} {
		write(t, s, e)
	}
	if diff := eventsDiff(ids([]audit.Event{late, other, early}), ids(readAll(t, s, audit.Query{SessionIDs: []string{"s1"}}))); diff != "" {
		t.Errorf("events of session s1 (-want +got):\n%s", diff)
	}
	db, err := driver.Find(s)
	if err != nil {
		return // not a SQL store: no users_sessions table
	}
	var rows []struct {
		Key     string          `db:"session_key"`
		UserKey *string         `db:"user_key"`
		Login   *string         `db:"login"`
		Started driver.ScanTime `db:"started"`
		Joined  driver.ScanTime `db:"joined"`
	}
	// Datagrok's join: users_sessions.user_id is users.id.
	q := db.SQL("SELECT s.session_key, s.user_key, u.login, s.started, u.joined FROM {users_sessions} s JOIN {users} u ON u.id = s.user_id")
	if err := db.SelectContext(t.Context(), &rows, q); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Key != "s1" || rows[0].UserKey == nil || *rows[0].UserKey != "alice" ||
		rows[0].Login == nil || *rows[0].Login != "alice" || !rows[0].Started.Equal(late.Time) || !rows[0].Joined.Equal(late.Time) {
		t.Errorf("users_sessions joined to users = %+v, want s1, alice, alice, %s, %s", rows, late.Time, late.Time)
	}
	// bob was seen too (in session s1, which alice opened): he has a users row
	// with his personal group, and the first event seen of each user is when
	// it joined.
	var users []struct {
		Login    string          `db:"login"`
		Joined   driver.ScanTime `db:"joined"`
		Personal bool            `db:"personal"`
	}
	q = db.SQL("SELECT u.login, u.joined, g.personal FROM {users} u JOIN {groups} g ON g.id = u.group_id ORDER BY u.login")
	if err := db.SelectContext(t.Context(), &users, q); err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Login != "alice" || users[1].Login != "bob" || !users[1].Joined.Equal(other.Time) || !users[0].Personal || !users[1].Personal {
		t.Errorf("users = %+v, want alice and bob (joined %s) with personal groups", users, other.Time)
	}
}

// testImplicitSessions writes events with a user and no session: they read
// back without one, and, on the SQL stores, each user has one implicit
// session a day in users_sessions (empty session_key), so that Datagrok's
// per-user queries see them; users_sessions.ip is the client_ip param and
// events.friendly_name the message, else the record type.
func testImplicitSessions(t *testing.T, s Store) {
	day1 := at(-2*time.Hour, "query-start", audit.String("client_ip", "10.0.0.7"))
	anon := at(-time.Hour, "query-start")
	day1b := at(0, "query-start")
	named := at(time.Hour, "project-opened", audit.String("client_ip", "10.0.0.8"))
	day2 := at(24*time.Hour, "query-start")
	named.SessionID, named.Message = "s9", "opened a project"
	for _, e := range []*audit.Event{&day1, &day1b, &day2, &named} {
		e.UserID = "dan"
	}
	write(t, s, day1, day1b, day2, anon, named)
	again := named
	again.ID = idWith(9, 9)
	again.Time = named.Time.Add(time.Minute)
	write(t, s, again)
	checkAll(t, s, day1, day1b, day2, anon, named, again)
	db, err := driver.Find(s)
	if err != nil {
		return // not a SQL store: no users_sessions table
	}
	var sessions []struct {
		Key     string          `db:"session_key"`
		Started driver.ScanTime `db:"started"`
		IP      *string         `db:"ip"`
		Login   string          `db:"login"`
	}
	q := db.SQL(`SELECT s.session_key, s.started, s.ip, u.login FROM {users_sessions} s JOIN {users} u ON u.id = s.user_id ORDER BY s.started`)
	if err := db.SelectContext(t.Context(), &sessions, q); err != nil {
		t.Fatal(err)
	}
	type row struct{ key, started, ip, login string }
	var got []row
	for _, r := range sessions {
		ip := "NULL"
		if r.IP != nil {
			ip = *r.IP
		}
		got = append(got, row{r.Key, r.Started.Time.Format(time.RFC3339), ip, r.Login})
	}
	want := []row{
		{"", day1.Time.Format(time.RFC3339), "10.0.0.7", "dan"},
		{"s9", named.Time.Format(time.RFC3339), "10.0.0.8", "dan"},
		{"", day2.Time.Format(time.RFC3339), "NULL", "dan"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(row{}), valueCmp); diff != "" {
		t.Errorf("users_sessions joined to users (-want +got):\n%s", diff)
	}
	var events []struct {
		Friendly   *string `db:"friendly_name"`
		HasSession bool    `db:"has_session"`
	}
	q = db.SQL(`SELECT friendly_name, session_id IS NOT NULL AS has_session FROM {events} ORDER BY event_time, friendly_name`)
	if err := db.SelectContext(t.Context(), &events, q); err != nil {
		t.Fatal(err)
	}
	var gotEvents []string
	for _, e := range events {
		f := "NULL"
		if e.Friendly != nil {
			f = *e.Friendly
		}
		gotEvents = append(gotEvents, fmt.Sprintf("%s %v", f, e.HasSession))
	}
	// One datagrok-started event per session, at its start, however many
	// batches meet the session.
	wantEvents := []string{
		"datagrok-started true", "query-start true", "query-start false", "query-start true",
		"datagrok-started true", "opened a project true", "opened a project true",
		"datagrok-started true", "query-start true",
	}
	if diff := eventsDiff(wantEvents, gotEvents); diff != "" {
		t.Errorf("events friendly_name and session (-want +got):\n%s", diff)
	}
}
