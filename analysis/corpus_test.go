package analysis_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/sqlite"
)

// now is the end of the tests' default windows: the 7-day window is
// [2025-03-03, 2025-03-10), the previous one [2025-02-24, 2025-03-03).
var now = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)

// week is the 7-day window before now.
var week = analysis.Window{Since: now.Add(-7 * 24 * time.Hour), Until: now}

// groups is the host application's directory of the tests.
var groups = map[string][]string{
	"alice": {"eng"},
	"bob":   {"eng", "ops"},
	"carol": {"sales"},
	"dave":  {"sales"},
}

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// named is a corpus event with the name the tests use for it.
type named struct {
	name string
	e    audit.Event
}

type evOpt func(*audit.Event)

func dur(d time.Duration) evOpt { return func(e *audit.Event) { e.Duration = d } }
func stack(fp, st string) evOpt {
	return func(e *audit.Event) { e.Fingerprint, e.StackTrace = fp, st }
}

func ev(name, when, user, session string, level audit.Level, typ, msg string, params []audit.Param, opts ...evOpt) named {
	e := audit.Event{
		ID: uuid.Must(uuid.NewV7()), Time: at(when), Level: level, Type: typ, Message: msg,
		UserID: user, SessionID: session, Params: params,
	}
	for _, o := range opts {
		o(&e)
	}
	slices.SortFunc(e.Params, func(a, b audit.Param) int {
		if a.Key < b.Key {
			return -1
		}
		if a.Key > b.Key {
			return 1
		}
		return 0
	})
	return named{name, e}
}

func ps(kv ...any) []audit.Param {
	var out []audit.Param
	for i := 0; i < len(kv); i += 2 {
		out = append(out, audit.P(kv[i].(string), kv[i+1]))
	}
	return out
}

var (
	q1 = audit.Ref("query", "q1")
	q2 = audit.Ref("query", "q2")
	t1 = audit.Ref("table", "t1")
	t2 = audit.Ref("table", "t2")
	c1 = audit.Ref("connection", "c1")
	p1 = audit.Ref("project", "p1")
)

const (
	usage = audit.LevelUsage
	aud   = audit.LevelAudit
	errL  = audit.LevelError
)

// corpus is the fixed log the tests ask questions about; the expected
// answers in the tests are worked out by hand from it.
func corpus() []named {
	return []named{
		// Long before.
		ev("E0", "2025-01-01T08:00", "dave", "sd0", aud, datagrok.ProjectCreated, "project created", ps("project", p1)),
		// The previous window.
		ev("E1", "2025-02-25T10:00", "alice", "sa0", aud, datagrok.QueryCreated, "query created", ps("query", q1, "source", c1)),
		ev("E2", "2025-02-26T10:00", "bob", "sb0", usage, datagrok.MainMenuItemClick, "menu", ps("item", "Edit|Undo")),
		ev("E3", "2025-02-27T10:00", "alice", "sa0", errL, audit.TypeError, "boom", nil, stack("fp-old", "stack-old")),
		// The window. Session s1: alice runs a query that times out, twice.
		ev("A1", "2025-03-03T09:00", "alice", "s1", usage, datagrok.MainMenuItemClick, "menu", ps("item", "File|Open")),
		ev("A2", "2025-03-03T09:01", "alice", "s1", aud, datagrok.QueryStart, "query", ps("query", q1), dur(100*time.Millisecond)),
		ev("A3", "2025-03-03T09:02", "alice", "s1", errL, audit.TypeError, "timeout", nil, stack("fp1", "stack-1")),
		ev("A4", "2025-03-03T09:03", "alice", "s1", aud, datagrok.QueryStart, "query", ps("query", q1, "ms", 300)), // a duration as Datagrok records one
		ev("A5", "2025-03-03T09:04", "alice", "s1", errL, audit.TypeError, "timeout", nil, stack("fp1", "stack-1")),
		// Session s2: bob makes a table from q1, edits q1, calls functions.
		ev("B1", "2025-03-04T10:00", "bob", "s2", usage, datagrok.MainMenuItemClick, "menu", ps("item", "File|Open")),
		ev("B2", "2025-03-04T10:01", "bob", "s2", usage, datagrok.MainMenuItemClick, "menu", ps("item", "Help|About", "ms", -5)), // negative: no duration
		ev("B3", "2025-03-04T10:02", "bob", "s2", aud, datagrok.TableProduced, "table", ps("table", t1, "source", q1)),
		ev("B4", "2025-03-04T10:03", "bob", "s2", aud, datagrok.QueryEdited, "edited", ps("query", q1)),
		ev("B5", "2025-03-04T10:04", "bob", "s2", aud, audit.TypeFunctionCall, "Sum",
			ps("function", "Sum", "package", "math", "in.a", 1, "in.b", 2, "out.result", 3, "ms", 5), dur(5*time.Millisecond)),
		ev("B6", "2025-03-04T10:05", "bob", "s2", errL, audit.TypeFunctionCall, "division by zero",
			ps("function", "Div", "package", "math", "in.a", 1, "in.b", 0, "ms", 1, "error_type", "*errors.errorString"),
			dur(time.Millisecond), stack("fp2", "stack-2")),
		// Session s3: carol's HTTP requests, a share and a call.
		ev("C1", "2025-03-05T11:00", "carol", "s3", usage, audit.TypeHTTPRequest, "GET",
			ps("method", "GET", "route", "GET /items/{id}", "status", 200, "ms", 10), dur(10*time.Millisecond)),
		ev("C2", "2025-03-05T11:01", "carol", "s3", usage, audit.TypeHTTPRequest, "GET",
			ps("method", "GET", "route", "GET /items/{id}", "status", 404, "ms", 20), dur(20*time.Millisecond)),
		ev("C3", "2025-03-05T11:02", "carol", "s3", usage, audit.TypeHTTPRequest, "GET",
			ps("method", "GET", "route", "GET /items/{id}", "status", 200, "ms", 30.0)),
		ev("C4", "2025-03-05T11:03", "carol", "s3", usage, audit.TypeHTTPRequest, "POST",
			ps("method", "POST", "route", "POST /items", "status", 500, "ms", 40, "package", "web"), dur(40*time.Millisecond)),
		ev("C5", "2025-03-05T11:04", "carol", "s3", aud, datagrok.EntityShared, "shared", ps("entity", t1, "group", "sales")),
		ev("C6", "2025-03-05T11:05", "carol", "s3", aud, audit.TypeFunctionCall, "Sum",
			ps("function", "Sum", "package", "math", "in.a", 2, "in.b", 2, "out.result", 4, "ms", 7)),
		// No session: a disk error without a stack.
		ev("D1", "2025-03-06T08:00", "carol", "", errL, audit.TypeError, "disk full", nil),
		// Session s4: dave derives t2 from t1 and views t1.
		ev("D2", "2025-03-06T09:00", "dave", "s4", aud, datagrok.TableProduced, "table", ps("table", t2, "source", t1)),
		ev("D3", "2025-03-06T09:01", "dave", "s4", usage, datagrok.ViewerRendered, "viewer", ps("table", t1, "ms", "slow")), // not a number: no duration
		// Session s5: erin, new.
		ev("F1", "2025-03-08T12:00", "erin", "s5", usage, datagrok.MainMenuItemClick, "menu", ps("item", "File|Open")),
		ev("F2", "2025-03-08T12:01", "erin", "s5", aud, datagrok.QueryStart, "query", ps("query", q2, "ms", uint64(200))),
	}
}

// backend is a store the analysis runs on.
type backend struct {
	name string
	// open returns a new, empty, migrated store and a function that makes
	// an Analyzer of it.
	open func(t *testing.T) (audit.Store, func(analysis.Options) (*analysis.Analyzer, error))
}

var backends = []backend{
	{"postgres", openPostgres},
	{"postgres-pgx", openPgx},
	{"sqlite", openSQLite},
}

func openSQLite(t *testing.T) (audit.Store, func(analysis.Options) (*analysis.Analyzer, error)) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "audit.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(ctx) })
	return s, func(o analysis.Options) (*analysis.Analyzer, error) { return analysis.New(s, o) }
}

func openPostgres(t *testing.T) (audit.Store, func(analysis.Options) (*analysis.Analyzer, error)) {
	t.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{Schema: pgtest.Schema(t)}) // migrates
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(ctx) })
	return s, func(o analysis.Options) (*analysis.Analyzer, error) { return analysis.New(s, o) }
}

func openPgx(t *testing.T) (audit.Store, func(analysis.Options) (*analysis.Analyzer, error)) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := postgres.NewPool(pool, postgres.Options{Schema: pgtest.Schema(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(ctx) })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s, func(o analysis.Options) (*analysis.Analyzer, error) { return analysis.New(s, o) }
}

// fixture is the corpus written to a store, with an Analyzer on it.
type fixture struct {
	store  audit.Store
	a      *analysis.Analyzer
	events map[string]audit.Event
	names  map[uuid.UUID]string
}

// forEachStore runs fn on every backend, with the corpus written through
// the store's Write and an Analyzer whose clock is now and whose groups are
// the test directory.
func forEachStore(t *testing.T, fn func(t *testing.T, fx *fixture)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s, mk := b.open(t)
			fx := &fixture{store: s, events: map[string]audit.Event{}, names: map[uuid.UUID]string{}}
			var batch []audit.Event
			for _, n := range corpus() {
				fx.events[n.name] = n.e
				fx.names[n.e.ID] = n.name
				batch = append(batch, n.e)
			}
			if err := s.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			a, err := mk(analysis.Options{Now: func() time.Time { return now }, Groups: analysis.GroupMap(groups), PollInterval: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			fx.a = a
			fn(t, fx)
		})
	}
}

// nameList returns the corpus names of events.
func (fx *fixture) nameList(events []audit.Event) []string {
	out := []string{}
	for _, e := range events {
		n, ok := fx.names[e.ID]
		if !ok {
			n = "?" + e.ID.String()
		}
		out = append(out, n)
	}
	return out
}
