package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/sqlite"
	"github.com/google/uuid"
)

func TestMain(m *testing.M) { pgtest.Main(m, func() error { return goleak.Find() }) }

// now is the clock of the tests: the fixture's events are in the two days
// before it.
var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// result is what one run of auditctl printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// auditctl runs the command line args with the environment env and the
// tests' clock.
func auditctl(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return auditctlIn(t, context.Background(), env, "", args...)
}

func auditctlIn(t *testing.T, ctx context.Context, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	return runAt(ctx, now, env, stdin, args...)
}

// auditctlAt runs the command line args at the time at.
func auditctlAt(t *testing.T, at time.Time, env map[string]string, args ...string) result {
	t.Helper()
	return runAt(context.Background(), at, env, "", args...)
}

func runAt(ctx context.Context, at time.Time, env map[string]string, stdin string, args ...string) result {
	var out, errOut bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		getenv: func(k string) string { return env[k] }, now: func() time.Time { return at }}
	code := c.run(ctx, args)
	return result{out.String(), errOut.String(), code}
}

// ok checks that r exited 0 and returns its stdout.
func (r result) ok(t *testing.T) string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, want 0; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// The fixture's events: what the tests expect to find.
const fixtureEvents = 17

// writeFixture logs a small, deterministic session through a Logger into
// store, on a clock that starts two days before now: queries, menu clicks,
// a function called twice (one failure), an edit, errors, HTTP requests.
// timeOut records a failure in a function of its own: fingerprints group
// errors by the functions on their stack, and this one must not group with
// the failed call that writeFixture records itself.
func timeOut(l *audit.Logger, q audit.Entity) {
	l.Error(errors.New("connection timed out"), map[string]any{"query": q})
}

func writeFixture(t *testing.T, store audit.Store) {
	t.Helper()
	ctx := context.Background()
	clk := audittest.NewClock(now.Add(-48 * time.Hour))
	logger, err := audit.New(audit.Options{Store: store, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	q1, q2 := audit.Ref("query", "q-1"), audit.Ref("query", "q-2")
	alice := logger.WithUser("alice", "analysts").WithSession("s-alice")
	bob := logger.WithUser("bob", "analysts").WithSession("s-bob")
	carol := logger.WithUser("carol", "admins").WithSession("s-carol")
	dave := logger.WithUser("dave").WithSession("s-dave")
	query := func(l *audit.Logger, q audit.Entity, took time.Duration) {
		clk.Advance(time.Minute)
		l.LogEvent(ctx, audit.Event{Level: audit.LevelAudit, Type: datagrok.QueryStart, Message: "query executed", Duration: took,
			Params: []audit.Param{audit.P("query", q), audit.P("rows", 10)}})
	}
	for i := range 3 {
		query(alice, q1, time.Duration(i+1)*100*time.Millisecond)
	}
	clk.Advance(time.Minute)
	alice.Usage("menu item clicked", map[string]any{"item": "File | Open"}, datagrok.MainMenuItemClick)
	clk.Advance(time.Minute)
	alice.Usage("menu item clicked", map[string]any{"item": "Help"}, datagrok.MainMenuItemClick)
	query(bob, q1, 400*time.Millisecond)
	query(bob, q2, 500*time.Millisecond)
	clk.Advance(time.Minute)
	call := bob.Call(ctx, "Sales:Forecast", map[string]any{"query": q1, "horizon_days": 7})
	clk.Advance(2 * time.Second)
	call.End(map[string]any{"table": audit.Ref("table", "t-1")}, nil)
	clk.Advance(time.Minute)
	call = bob.Call(ctx, "Sales:Forecast", map[string]any{"query": q2, "horizon_days": 28})
	clk.Advance(time.Second)
	call.End(nil, errors.New("not enough history"))
	clk.Advance(time.Minute)
	alice.Log("query edited", map[string]any{"query": q1, "field": "sql"}, datagrok.QueryEdited)
	for range 2 {
		clk.Advance(time.Minute)
		timeOut(carol, q2)
	}
	clk.Advance(time.Minute)
	carol.Log("project opened", map[string]any{"project": audit.Ref("project", "p-1")}, datagrok.ProjectOpened)
	for i, status := range []int{200, 200, 200, 500} {
		clk.Advance(time.Minute)
		e := audit.Event{Level: audit.LevelInfo, Type: audit.TypeHTTPRequest, Message: "GET /api/items",
			Duration: time.Duration(10*(i+1)) * time.Millisecond,
			Params:   []audit.Param{audit.P("method", "GET"), audit.P("route", "/api/items"), audit.P("status", status)}}
		if status == 500 { // the duration as Datagrok records it: an ms param
			e.Duration, e.Params = 0, append(e.Params, audit.P("ms", 40))
		}
		dave.LogEvent(ctx, e)
	}
	if err := logger.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := logger.Stats(); s.Written != fixtureEvents {
		t.Fatalf("fixture: %d events written, want %d (%+v)", s.Written, fixtureEvents, s)
	}
}

// sqliteFixture returns the path of a SQLite file with the fixture.
func sqliteFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	store, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeFixture(t, store)
	if err := store.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return path
}

// contains checks that out holds every one of wants.
func contains(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

// TestQuestionsText asks each question of the fixture and checks the rows
// of its tables.
func TestQuestionsText(t *testing.T) {
	db := sqliteFixture(t)
	env := map[string]string{envDB: db}
	for _, tc := range []struct {
		args  []string
		wants []string
	}{
		{[]string{"activity", "query:q-1"}, []string{"Events that name query:q-1: 6", "Events, newest first:", "query-edited", "query=query:q-1", "Sales:Forecast"}},
		{[]string{"activity", "q-2", "--since", "2026-11-18"}, []string{"Events that name q-2: 4", "connection timed out", "not enough history"}},
		{[]string{"usage"}, []string{"17 events (all events), 4 users, 7 record types", "query-start           5", "alice  6", "2026-11-18  17"}},
		{[]string{"usage", "query:q-1"}, []string{"6 events (the events that name query:q-1), 2 users, 3 record types"}},
		{[]string{"feed", "--limit", "3"}, []string{"3 events, newest first", "More: --after ", "http-request", "status=500", "40ms"}},
		{[]string{"feed", "--level", "error", "--user", "carol"}, []string{"2 events, newest first", "connection timed out"}},
		{[]string{"overview"}, []string{"active users  4        0         new", "events        17", "errors        3", "2026-11-18  4"}},
		{[]string{"functions"}, []string{"Sales:Forecast  2      1       1      1.5s", "horizon_days=28 query=query:q-2", "not enough history", "table=table:t-1"}},
		{[]string{"errors", "--min-support", "1"}, []string{"3 errors in 2 groups", "connection timed out", "not enough history", "Actions that lead to errors:"}},
		{[]string{"perf"}, []string{"query-start    5      0       0.000       300ms", "GET     /api/items  4      1       0.250"}},
		{[]string{"patterns"}, []string{"4 users in", "Clusters:", "alice"}},
		{[]string{"--groups", writeGroups(t), "patterns", "--k", "2"}, []string{"analysts 2"}},
		{[]string{"unused"}, []string{"record types unused", "dialog-ok", "File | Open  1", "Help         1"}},
		{[]string{"history", "query:q-1"}, []string{"Events that name query:q-1: 6", "No origin", "derived   2026-11-18 12:08:00  function-call  bob    Sales:Forecast  table:t-1", "modified  2026-11-18 12:10:03  query-edited   alice  query edited"}},
		// The scope flags (--user, --group, --level) of every question.
		{[]string{"activity", "query:q-1", "--user", "alice"}, []string{"Events that name query:q-1: 4"}},
		{[]string{"usage", "--user", "alice"}, []string{"6 events (all events), 1 user"}},
		{[]string{"usage", "--level", "error"}, []string{"3 events (all events)"}},
		{[]string{"--groups", writeGroups(t), "usage", "--group", "analysts"}, []string{"10 events (all events), 2 users"}},
		{[]string{"overview", "--level", "error"}, []string{"events        3 "}},
		{[]string{"functions", "--user", "alice"}, []string{"Functions:\n  (none)"}},
		{[]string{"functions", "--user", "bob"}, []string{"Sales:Forecast  2      1       1      1.5s"}},
		{[]string{"errors", "--user", "carol", "--min-support", "1"}, []string{"2 errors in"}},
		{[]string{"perf", "--level", "error"}, []string{"function-call  1      1       1.000", "By HTTP route:\n  (none)"}},
		{[]string{"patterns", "--user", "alice", "--user", "bob"}, []string{"2 users in"}},
		{[]string{"unused", "--user", "carol"}, []string{"47 of 49 known record types unused", "File | Open  0"}},
		{[]string{"history", "table:t-1"}, []string{"Events that name table:t-1: 1", "origin  2026-11-18 12:08:00  function-call  bob   Sales:Forecast  query:q-1"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out := auditctl(t, env, tc.args...).ok(t)
			contains(t, strings.Join(tc.args, " "), out, tc.wants...)
		})
	}
}

func writeGroups(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "groups.json")
	if err := writeFile(path, `{"alice": ["analysts"], "bob": ["analysts"], "carol": ["admins"]}`); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestJSON checks that --json prints the result structs.
func TestJSON(t *testing.T) {
	db := sqliteFixture(t)
	env := map[string]string{envDB: db}

	var usage struct {
		Total  int64 `json:"total"`
		ByType []struct {
			Key   string `json:"key"`
			Count int64  `json:"count"`
		} `json:"by_type"`
		Window struct{ Since, Until time.Time } `json:"window"`
	}
	decode(t, auditctl(t, env, "usage", "--json").ok(t), &usage)
	if usage.Total != fixtureEvents || len(usage.ByType) != 7 || !usage.Window.Until.Equal(now) {
		t.Errorf("usage --json: %+v", usage)
	}

	// Overview: each metric with its change, null when infinite.
	var overview map[string]json.RawMessage
	decode(t, auditctl(t, env, "overview", "--json").ok(t), &overview)
	var events struct {
		Current, Previous int64
		Change            *float64
	}
	decode(t, string(overview["events"]), &events)
	if events.Current != fixtureEvents || events.Previous != 0 || events.Change != nil {
		t.Errorf("overview --json events: %s", overview["events"])
	}
	// A window whose previous one has events: a finite change.
	decode(t, string(auditctlJSON(t, env, "overview", "--since", "2026-11-18T12:05:00Z", "--until", "2026-11-18T12:10:00Z")["events"]), &events)
	if events.Change == nil || events.Current != 5 || events.Previous != 4 || *events.Change != 0.25 {
		t.Errorf("overview of 5 minutes, Events: %+v", events)
	}

	var perf struct {
		Types, Routes []struct {
			Name, Method  string
			Count, Errors int64
			ErrorRate     float64 `json:"error_rate"`
			P50           float64 `json:"p50_ms"`
		}
	}
	decode(t, auditctl(t, env, "perf", "--json").ok(t), &perf)
	if len(perf.Routes) != 1 || perf.Routes[0].Name != "/api/items" || perf.Routes[0].ErrorRate != 0.25 || perf.Routes[0].P50 != 25 {
		t.Errorf("perf --json routes: %+v", perf.Routes)
	}

	var page struct {
		Events []map[string]any `json:"events"`
		Next   string           `json:"next"`
		Head   string           `json:"head"`
	}
	decode(t, auditctl(t, env, "feed", "--limit", "5", "--json").ok(t), &page)
	if len(page.Events) != 5 || page.Next == "" || page.Head == "" || page.Events[0]["type"] != audit.TypeHTTPRequest {
		t.Errorf("feed --json: %d events, next %q, head %q, first %v", len(page.Events), page.Next, page.Head, page.Events[0])
	}
	// The next page continues where the cursor says.
	decode(t, auditctl(t, env, "feed", "--limit", "100", "--after", page.Next, "--json").ok(t), &page)
	if len(page.Events) != fixtureEvents-5 || page.Next != "" {
		t.Errorf("feed --after: %d events, next %q", len(page.Events), page.Next)
	}

	var hist struct {
		Origin *struct {
			Sources []struct{ Kind, ID string } `json:"sources"`
		} `json:"origin"`
		Events int `json:"events"`
	}
	decode(t, auditctl(t, env, "history", "table:t-1", "--json").ok(t), &hist)
	if hist.Origin == nil || len(hist.Origin.Sources) != 1 || hist.Origin.Sources[0].ID != "q-1" {
		t.Errorf("history --json: %+v", hist)
	}

	for _, cmd := range [][]string{{"activity", "q-1"}, {"functions"}, {"errors"}, {"patterns"}, {"unused"}} {
		var v map[string]any
		decode(t, auditctl(t, env, append(cmd, "--json")...).ok(t), &v)
		if _, ok := v["window"]; !ok {
			t.Errorf("%s --json: no window in %v", cmd[0], v)
		}
	}
}

func auditctlJSON(t *testing.T, env map[string]string, args ...string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	decode(t, auditctl(t, env, append(args, "--json")...).ok(t), &m)
	return m
}

func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v in:\n%s", err, s)
	}
}

// TestCSV checks the header and the rows of --csv, and --table.
func TestCSV(t *testing.T) {
	db := sqliteFixture(t)
	env := map[string]string{envDB: db}
	for _, tc := range []struct {
		args   []string
		header string
		rows   int
	}{
		{[]string{"usage"}, "type,count", 7},
		{[]string{"usage", "--table", "users"}, "user_id,count", 4},
		{[]string{"usage", "--table", "days", "--since", "2026-11-17", "--until", "2026-11-20"}, "day,count", 3},
		{[]string{"feed", "--all"}, "time,level,type,user_id,session_id,message,duration_ms,params,id,fingerprint", fixtureEvents},
		{[]string{"feed", "--type", "query-start"}, "time,level,type,user_id,session_id,message,duration_ms,params,id,fingerprint", 5},
		{[]string{"overview"}, "metric,current,previous,change", 5},
		{[]string{"functions", "--table", "calls"}, "time,user_id,session_id,function,inputs,outputs,duration_ms,error,id", 2},
		{[]string{"errors"}, "fingerprint,count,users,first_seen,last_seen,message,sample_id,sample_user_id", 2},
		{[]string{"perf", "--table", "routes"}, "method,route,count,errors,error_rate,p50_ms,p95_ms,p99_ms", 1},
		{[]string{"patterns", "--table", "users"}, "user_id,events,cluster,error,function-call,http-request,main-menu-item-click,project-opened,query-edited,query-start", 4},
		{[]string{"unused", "--table", "menu-items"}, "item,count", 2},
		{[]string{"history", "query:q-1"}, "role,time,type,user_id,message,related,id", 2},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out := auditctl(t, env, append(tc.args, "--csv")...).ok(t)
			recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatalf("%v in:\n%s", err, out)
			}
			if got := strings.Join(recs[0], ","); got != tc.header {
				t.Errorf("header %q, want %q", got, tc.header)
			}
			if len(recs)-1 != tc.rows {
				t.Errorf("%d rows, want %d:\n%s", len(recs)-1, tc.rows, out)
			}
		})
	}

	// Values: durations in milliseconds, an infinite change empty.
	out := auditctl(t, env, "perf", "--csv").ok(t)
	contains(t, "perf --csv", out, "query-start,5,0,0,300,480,496")
	out = auditctl(t, env, "overview", "--csv").ok(t)
	contains(t, "overview --csv", out, "events,17,0,\n")
}

// TestExitCodes checks the exit codes and error messages a script relies on.
func TestExitCodes(t *testing.T) {
	db := sqliteFixture(t)
	env := map[string]string{envDB: db}
	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := writeFile(empty, ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		code int
		msg  string
	}{
		{[]string{}, env, exitUsage, "Usage:"},
		{[]string{"frob"}, env, exitUsage, `auditctl: unknown command "frob"`},
		{[]string{"errors", "--bogus"}, env, exitUsage, "auditctl: errors: flag provided but not defined: -bogus"},
		{[]string{"errors", "--since", "yesterday"}, env, exitUsage, `auditctl: errors: --since: "yesterday" is neither a time`},
		{[]string{"errors", "--since", "1d", "--until", "2d"}, env, exitUsage, "is not before --until"},
		{[]string{"errors", "--limit", "-1"}, env, exitUsage, "Limit -1 is negative"},
		{[]string{"usage", "--json", "--csv"}, env, exitUsage, "--json and --csv are exclusive"},
		{[]string{"usage", "--table", "nope"}, env, exitUsage, `--table "nope": want one of types, users, days`},
		{[]string{"activity"}, env, exitUsage, "auditctl: activity: missing argument: want OBJECT"},
		{[]string{"activity", "a", "b"}, env, exitUsage, `unexpected argument "b"`},
		{[]string{"activity", "query:"}, env, exitUsage, "empty id"},
		{[]string{"feed", "--after", "nonsense"}, env, exitUsage, "invalid cursor"},
		{[]string{"feed", "--level", "loud"}, env, exitUsage, "--level"},
		{[]string{"usage", "--level", "loud"}, env, exitUsage, "--level"},
		{[]string{"feed", "-f", "--all"}, env, exitUsage, "--all and -f are exclusive"},
		{[]string{"errors"}, nil, exitUsage, "no database: set --db"},
		{[]string{"errors"}, map[string]string{envDB: filepath.Join(t.TempDir(), "missing.db")}, exitFailure, "missing.db does not exist"},
		{[]string{"errors"}, map[string]string{envDB: empty}, exitNotMigrated, "has no audit tables: run 'auditctl migrate'"},
		{[]string{"errors"}, map[string]string{envDB: "postgres://nobody@127.0.0.1:1/audit?sslmode=disable&connect_timeout=5"}, exitFailure, "auditctl: errors: postgres: connect: audit: unavailable"},
		{[]string{"settings", "--db", db, "show"}, env, exitUsage, "the action comes first"},
		{[]string{"history", "query:nope"}, env, exitNotFound, "auditctl: history: no event names query:nope"},
		{[]string{"settings", "show"}, env, exitUsage, "settings are kept in Postgres"},
		{[]string{"settings", "frob"}, env, exitUsage, `unknown action "frob"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := auditctl(t, tc.env, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			contains(t, "stderr", r.stderr, tc.msg)
		})
	}
	// An empty window is no error.
	out := auditctl(t, env, "activity", "query:nope").ok(t)
	contains(t, "activity of an unknown object", out, "Events that name query:nope: 0", "(none)")

	// Help goes to stdout and exits 0.
	for _, args := range [][]string{{"-h"}, {"help"}, {"errors", "-h"}, {"help", "feed"}, {"settings", "-h"}} {
		r := auditctl(t, env, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") || r.stderr != "" {
			t.Errorf("%q: exit %d, stdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
		}
	}
	// Flags before and after the positional argument, and the global
	// flags after the command.
	out = auditctl(t, nil, "activity", "q-1", "--db", db, "--limit", "2").ok(t)
	contains(t, "interspersed flags", out, "Events that name q-1: 2 (more: raise --limit)")
}

// TestFeedAllProgress checks the progress bar of an export: drawn on a
// terminal, with the total, and never otherwise.
func TestFeedAllProgress(t *testing.T) {
	db := sqliteFixture(t)
	for _, tty := range []bool{false, true} {
		var out, errOut bytes.Buffer
		c := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }, now: func() time.Time { return now }, stderrTTY: tty}
		if code := c.run(context.Background(), []string{"--db", db, "feed", "--all", "--limit", "5", "--json"}); code != 0 {
			t.Fatalf("tty %v: exit %d: %s", tty, code, errOut.String())
		}
		if n := strings.Count(out.String(), "\n"); n != fixtureEvents {
			t.Errorf("tty %v: %d JSON lines, want %d", tty, n, fixtureEvents)
		}
		switch {
		case !tty && errOut.Len() != 0:
			t.Errorf("no terminal, yet stderr has %q", errOut.String())
		case tty && !strings.HasSuffix(errOut.String(), "\r["+strings.Repeat("=", 30)+"] 17/17 events 100%\x1b[K\n"):
			t.Errorf("terminal: stderr %q", errOut.String())
		case tty && !strings.Contains(errOut.String(), "] 5/17 events  29%"):
			t.Errorf("terminal: no bar after the first page in %q", errOut.String())
		}
	}
}

func TestRenderBar(t *testing.T) {
	for _, tc := range []struct {
		done, total int64
		want        string
	}{
		{0, 10, "[          ] 0/10 events   0%"},
		{1, 10, "[>         ] 1/10 events  10%"},
		{5, 10, "[====>     ] 5/10 events  50%"},
		{10, 10, "[==========] 10/10 events 100%"},
		{7, 0, "7 events"},    // total unknown
		{12, 10, "12 events"}, // more than counted
	} {
		if got := renderBar(tc.done, tc.total, 10, "events"); got != tc.want {
			t.Errorf("renderBar(%d, %d) = %q, want %q", tc.done, tc.total, got, tc.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01T09:30:00+02:00", time.Date(2026, 11, 1, 7, 30, 0, 0, time.UTC)},
		{"2026-11-01T09:30", time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)},
		{"7d", now.Add(-7 * 24 * time.Hour)},
		{"36h", now.Add(-36 * time.Hour)},
		{"1d12h", now.Add(-36 * time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
	} {
		got, err := parseTime(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "-7d", "7x", "d"} {
		if _, err := parseTime(bad, now); err == nil {
			t.Errorf("parseTime(%q): no error", bad)
		}
	}
}

func TestParseObject(t *testing.T) {
	for in, want := range map[string]audit.Entity{
		"query:q-42":   {Kind: "query", ID: "q-42"},
		"q-42":         {ID: "q-42"},
		":a:b":         {ID: "a:b"},
		"url:http://x": {Kind: "url", ID: "http://x"},
	} {
		if got, err := parseObject(in); err != nil || got != want {
			t.Errorf("parseObject(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

// TestMigratePrintSQLite applies the printed SQL by hand to a new file,
// which the questions then read.
func TestMigratePrintSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "by-hand.db")
	script := auditctl(t, nil, "--db", path, "migrate", "--print").ok(t)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(script); err != nil {
		t.Fatalf("applying the script: %v\n%s", err, script)
	}
	db.Close()
	out := auditctl(t, nil, "--db", path, "usage").ok(t)
	contains(t, "usage of the new file", out, "0 events (all events)")
	// migrate then finds it up to date.
	out = auditctl(t, nil, "--db", path, "migrate").ok(t)
	contains(t, "migrate", out, sqliteLastMigration())
}

// syncBuffer is a buffer written by a follow while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// follow runs feed -f with args until the output holds want after write
// runs, then interrupts it and returns the output.
func follow(t *testing.T, db string, write func(), want string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	c := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }, now: func() time.Time { return now }}
	done := make(chan int)
	go func() { done <- c.run(ctx, append([]string{"--db", db, "feed", "-f", "--interval", "10ms"}, args...)) }()
	// The last events print first; then the new one arrives.
	for !strings.Contains(out.String(), "\n") {
		select {
		case code := <-done:
			t.Fatalf("feed -f ended with %d before printing: %s", code, errOut.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	write()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		select {
		case code := <-done:
			t.Fatalf("feed -f ended with %d: %s", code, errOut.String())
		case <-deadline:
			t.Fatalf("feed -f: %q not printed within 10s:\n%s", want, out.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("feed -f interrupted: exit %d, want 0: %s", code, errOut.String())
	}
	return out.String()
}

// TestFollowSQLite follows a SQLite file while another store writes to it.
func TestFollowSQLite(t *testing.T) {
	db := sqliteFixture(t)
	write := func() {
		store, err := sqlite.Open(context.Background(), db, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close(context.Background())
		logger, err := audit.New(audit.Options{Store: store, Sync: true})
		if err != nil {
			t.Fatal(err)
		}
		logger.WithUser("erin").Log("late arrival", nil, datagrok.ProjectOpened)
		logger.Close(context.Background())
	}
	out := follow(t, db, write, "late arrival", "--limit", "2")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "200") || !strings.Contains(lines[1], "status=500") || !strings.Contains(lines[2], "erin") {
		t.Errorf("feed -f --limit 2: want the last 2 events oldest first, then the new one:\n%s", out)
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }

// TestErrorsFingerprintPrefix checks that errors --fingerprint accepts the
// shortened fingerprints the text output prints, and any unique prefix.
func TestErrorsFingerprintPrefix(t *testing.T) {
	db := sqliteFixture(t)
	env := map[string]string{envDB: db}
	out := auditctl(t, env, "errors", "--csv").ok(t)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	text := auditctl(t, env, "errors").ok(t)
	var tried int
	for _, rec := range recs[1:] {
		fp, message := rec[0], rec[5]
		if fp == "" {
			continue
		}
		tried++
		shown := fp[:11] + "…"
		if !strings.Contains(text, shown) {
			t.Fatalf("the text output does not show %q:\n%s", shown, text)
		}
		for _, arg := range []string{shown, fp[:6], fp} {
			got := auditctl(t, env, "errors", "--fingerprint", arg).ok(t)
			contains(t, "errors --fingerprint "+arg, got, "in 1 group", message)
		}
	}
	if tried == 0 {
		t.Fatal("the fixture has no error with a fingerprint")
	}
	r := auditctl(t, env, "errors", "--fingerprint", "ffffffffffzz")
	if r.code != exitNotFound || !strings.Contains(r.stderr, `no error group in the window has a fingerprint starting with "ffffffffffzz"`) {
		t.Errorf("unknown prefix: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestErrorsFingerprintAmbiguous checks that a prefix two groups share is
// refused with both fingerprints named, and a longer one picks its group.
func TestErrorsFingerprintAmbiguous(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	store, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fps := []string{"abc1" + strings.Repeat("0", 28), "abc2" + strings.Repeat("0", 28)}
	var evs []audit.Event
	for i, fp := range fps {
		evs = append(evs, audit.Event{ID: uuid.Must(uuid.NewV7()), Time: now.Add(-time.Duration(i+1) * time.Hour),
			Level: audit.LevelError, Type: audit.TypeError, Message: fmt.Sprintf("failure %d", i),
			StackTrace: fmt.Sprintf("main.f%d()\n", i), Fingerprint: fp, UserID: "u"})
	}
	if err := store.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envDB: path}
	r := auditctl(t, env, "errors", "--fingerprint", "abc")
	if r.code != exitUsage || !strings.Contains(r.stderr, fps[0]) || !strings.Contains(r.stderr, fps[1]) {
		t.Errorf("ambiguous prefix: exit %d, stderr %q", r.code, r.stderr)
	}
	out := auditctl(t, env, "errors", "--fingerprint", "abc2").ok(t)
	contains(t, "errors --fingerprint abc2", out, "1 error in 1 group", "failure 1")
}

// sqliteLastMigration is what migrate prints of a SQLite file up to date.
func sqliteLastMigration() string {
	ms := sqlite.Migrations()
	return fmt.Sprintf("is at migration %d (%s)", ms[len(ms)-1].Version, ms[len(ms)-1].Name)
}
