package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/auditkit/audit"
)

// TestUsageAnalysisQueries runs queries in the shape of Datagrok's Usage
// Analysis views, written only from the column list of Datagrok's tables
// (events, event_types, users_sessions, users, groups, groups_relations) and
// run as they are, with their parameters bound: unique users per day, top
// users, the log tail of a group and its subgroups, new users and sessions
// (counted, as Datagrok does, by datagrok-started events) against the
// previous window, and errors per user; and the top users again from
// users_latest, which has the names PutUser gave after the users' first
// events.
func TestUsageAnalysisQueries(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	day := func(d string, h int) time.Time {
		tm, err := time.Parse("2006-01-02", d)
		if err != nil {
			t.Fatal(err)
		}
		return tm.Add(time.Duration(h) * time.Hour)
	}
	ev := func(at time.Time, user, session, typ string, level audit.Level) audit.Event {
		return audit.Event{ID: uuid.Must(uuid.NewV7()), Time: at, Level: level, Type: typ, Message: typ + " by " + user, UserID: user, SessionID: session}
	}
	events := []audit.Event{
		// The previous window, 2025-02-24 to 03-03.
		ev(day("2025-02-25", 9), "alice", "a0", "log", audit.LevelInfo),
		ev(day("2025-02-26", 9), "dave", "d1", "log", audit.LevelInfo),
		// The window, 2025-03-03 to 03-10.
		ev(day("2025-03-03", 9), "alice", "a1", "log", audit.LevelInfo),
		ev(day("2025-03-03", 10), "alice", "a1", "query-start", audit.LevelAudit),
		ev(day("2025-03-04", 8), "alice", "", "main-menu-item-click", audit.LevelUsage), // implicit session
		ev(day("2025-03-04", 9), "bob", "b1", "log", audit.LevelInfo),
		ev(day("2025-03-04", 10), "bob", "b1", "query-start", audit.LevelAudit),
		ev(day("2025-03-04", 11), "bob", "b1", "error", audit.LevelError),
		ev(day("2025-03-05", 9), "carol", "", "log", audit.LevelInfo), // implicit session
		ev(day("2025-03-05", 10), "carol", "", "error", audit.LevelError),
	}
	if err := s.Write(ctx, events); err != nil {
		t.Fatal(err)
	}
	for _, u := range []audit.User{
		{ID: "alice", Login: "alice", FriendlyName: "Alice", Joined: day("2025-02-25", 0)},
		{ID: "bob", Login: "bob", FriendlyName: "Bob", Joined: day("2025-03-04", 0)},
		{ID: "dave", Login: "dave", FriendlyName: "Dave", Joined: day("2025-02-26", 0)},
		{ID: "erin", Login: "erin", FriendlyName: "Erin", Joined: day("2025-01-01", 0)},
		// carol is known from her events only: joined at her first.
	} {
		if err := s.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []audit.Group{{ID: "chem", Name: "chem"}, {ID: "lab", Name: "lab"}, {ID: "other", Name: "other"}} {
		if err := s.PutGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []struct {
		group         string
		users, groups []string
	}{{"chem", []string{"alice"}, nil}, {"lab", []string{"bob"}, []string{"chem"}}, {"other", []string{"dave"}, nil}} {
		if err := s.SetMembers(ctx, m.group, m.users, m.groups); err != nil {
			t.Fatal(err)
		}
	}

	db := s.DB()
	db.SetMaxOpenConns(1) // search_path and the time zone are per connection
	if _, err := db.Exec("SET search_path TO " + quote(s.Schema()) + "; SET TIME ZONE 'UTC'"); err != nil {
		t.Fatal(err)
	}
	start, end := day("2025-03-03", 0), day("2025-03-10", 0)
	prev := start.Add(-end.Sub(start))
	query := func(name, q string, args ...any) [][]string {
		t.Helper()
		rows, err := db.Queryx(q, args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer rows.Close()
		var out [][]string
		for rows.Next() {
			vals, err := rows.SliceScan()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			row := make([]string, len(vals))
			for i, v := range vals {
				switch x := v.(type) {
				case time.Time:
					row[i] = x.UTC().Format("2006-01-02 15:04")
				case []byte:
					row[i] = string(x)
				default:
					row[i] = fmt.Sprint(x)
				}
			}
			out = append(out, row)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out
	}
	check := func(name string, got, want [][]string) {
		t.Helper()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}

	check("unique users per day", query("unique users per day", `
		SELECT date_trunc('day', e.event_time) AS day, count(DISTINCT u.id) AS users
		FROM events e
		JOIN users_sessions s ON s.id = e.session_id
		JOIN users u ON u.id = s.user_id
		WHERE e.event_time >= $1 AND e.event_time < $2
		GROUP BY 1 ORDER BY 1`, start, end),
		[][]string{{"2025-03-03 00:00", "1"}, {"2025-03-04 00:00", "2"}, {"2025-03-05 00:00", "1"}})

	topUsers := func(users string) string {
		return `SELECT u.login, u.friendly_name, count(*) AS events
		FROM events e
		JOIN users_sessions s ON s.id = e.session_id
		JOIN ` + users + ` u ON u.id = s.user_id
		WHERE e.event_time >= $1 AND e.event_time < $2
		GROUP BY u.id, u.login, u.friendly_name
		ORDER BY events DESC, u.login
		LIMIT $3`
	}
	// The users were seen in events before PutUser named them: users keeps
	// the first-seen rows (the directory is written insert-only), and
	// users_latest, in the query's place, has the names.
	check("top users", query("top users", topUsers("users"), start, end, 2),
		[][]string{{"alice", "<nil>", "5"}, {"bob", "<nil>", "4"}}) // with a datagrok-started event per session
	check("top users, newest names", query("top users", topUsers("users_latest"), start, end, 2),
		[][]string{{"alice", "Alice", "5"}, {"bob", "Bob", "4"}})

	check("log tail of a group and its subgroups", query("log tail", `
		WITH RECURSIVE selected AS (
			SELECT g.id FROM groups g WHERE g.name = ANY(string_to_array($3, ','))
			UNION
			SELECT r.child_id FROM groups_relations r JOIN selected ON r.parent_id = selected.id
		)
		SELECT e.event_time, u.login, t.friendly_name AS type, t.source AS level, e.friendly_name
		FROM events e
		JOIN event_types t ON t.id = e.event_type_id
		JOIN users_sessions s ON s.id = e.session_id
		JOIN users u ON u.id = s.user_id
		WHERE u.group_id IN (SELECT id FROM selected)
		  AND e.event_time >= $1 AND e.event_time < $2
		ORDER BY e.event_time DESC, t.friendly_name
		LIMIT 100`, start, end, "lab"),
		[][]string{
			{"2025-03-04 11:00", "bob", "error", "error", "error by bob"},
			{"2025-03-04 10:00", "bob", "query-start", "audit", "query-start by bob"},
			{"2025-03-04 09:00", "bob", "datagrok-started", "info", "datagrok-started"},
			{"2025-03-04 09:00", "bob", "log", "info", "log by bob"},
			{"2025-03-04 08:00", "alice", "datagrok-started", "info", "datagrok-started"},
			{"2025-03-04 08:00", "alice", "main-menu-item-click", "usage", "main-menu-item-click by alice"},
			{"2025-03-03 10:00", "alice", "query-start", "audit", "query-start by alice"},
			{"2025-03-03 09:00", "alice", "datagrok-started", "info", "datagrok-started"},
			{"2025-03-03 09:00", "alice", "log", "info", "log by alice"},
		})

	check("new users and sessions against the previous window", query("new users and sessions", `
		SELECT
			(SELECT count(*) FROM users WHERE joined >= $1 AND joined < $2) AS new_users,
			(SELECT count(*) FROM users WHERE joined >= $3 AND joined < $1) AS previous_new_users,
			(SELECT count(*) FROM events e JOIN event_types t ON t.id = e.event_type_id
				WHERE t.friendly_name = 'datagrok-started' AND e.event_time >= $1 AND e.event_time < $2) AS sessions,
			(SELECT count(*) FROM events e JOIN event_types t ON t.id = e.event_type_id
				WHERE t.friendly_name = 'datagrok-started' AND e.event_time >= $3 AND e.event_time < $1) AS previous_sessions`, start, end, prev),
		[][]string{{"2", "2", "4", "2"}}) // bob, carol; alice, dave. a1, alice's of 03-04, b1, carol's; a0, d1

	check("errors per user", query("errors per user", `
		SELECT u.login, count(*) AS errors
		FROM events e
		JOIN event_types t ON t.id = e.event_type_id
		JOIN users_sessions s ON s.id = e.session_id
		JOIN users u ON u.id = s.user_id
		WHERE e.is_error AND t.is_error AND e.event_time >= $1 AND e.event_time < $2
		GROUP BY u.login ORDER BY errors DESC, u.login`, start, end),
		[][]string{{"bob", "1"}, {"carol", "1"}})
}
