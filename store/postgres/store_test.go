package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, func() error { return goleak.Find() })
}

// newStore returns a migrated store in a schema of its own.
func newStore(t testing.TB) *postgres.Store {
	t.Helper()
	return newStoreDSN(t, pgtest.DSN(t), pgtest.Schema(t))
}

func newStoreDSN(t testing.TB, dsn, schema string) *postgres.Store {
	return openPQ(t, dsn, schema)
}

// opener returns a migrated store on the database at dsn, in schema.
type opener func(t testing.TB, dsn, schema string) *postgres.Store

// drivers are the two ways the store reaches Postgres: the tests that
// exercise the write path run on both.
var drivers = []struct {
	name string
	open opener
}{{"libpq", openPQ}, {"pgx", openPgx}}

// openPQ opens the store through lib/pq (Open migrates).
func openPQ(t testing.TB, dsn, schema string) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(ctx) })
	return s
}

// openPgx opens the store on a pgx pool of its own.
func openPgx(t testing.TB, dsn, schema string) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.NewPool(pool, postgres.Options{Schema: schema})
	if err != nil {
		pool.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close(ctx)
		pool.Close()
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func event(i int, params ...audit.Param) audit.Event {
	id, _ := uuid.NewV7()
	return audit.Event{
		ID:      id,
		Time:    base.Add(time.Duration(i) * time.Second),
		Level:   audit.LevelAudit,
		Type:    datagrok.QueryStart,
		Message: fmt.Sprintf("event %d", i),
		Params:  params,
	}
}

var eventCmp = cmp.Options{cmp.Comparer(func(a, b audit.Value) bool { return a == b })}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	qid := uuid.MustParse("0195a3c4-0000-7000-8000-000000000001")
	e1 := event(1,
		audit.P("b-null", nil),
		audit.P("c-string", "hello"),
		audit.P("d-int", int64(math.MinInt64)),
		audit.P("e-uint", uint64(math.MaxUint64)),
		audit.P("f-float", 3.25),
		audit.P("f-inf", math.Inf(-1)),
		audit.P("f-nan", math.NaN()),
		audit.P("g-bool", true),
		audit.P("h-time", time.Date(2024, 2, 29, 1, 2, 3, 456789123, time.UTC)),
		audit.P("i-duration", 1500*time.Millisecond),
		audit.P("j-entity", audit.Ref("query", qid.String())),
		audit.P("k-entity-text", audit.Ref("", "orders/42")),
		audit.P("l-json", []int{1, 2, 3}),
	)
	e1.SessionID, e1.UserID, e1.Duration = "sess-1", "alice", 42*time.Millisecond
	e2 := event(2)
	e2.Level, e2.Type, e2.Message = audit.LevelError, audit.TypeError, "boom"
	e2.StackTrace, e2.Fingerprint = "main.main()\n\tmain.go:1", "abc123"
	e2.SessionID = uuid.NewString()
	if err := s.Write(ctx, []audit.Event{e1, e2}); err != nil {
		t.Fatal(err)
	}
	got := audittest.ReadAll(t, s, audit.Query{})
	if diff := cmp.Diff([]audit.Event{e2, e1}, got, eventCmp); diff != "" {
		t.Fatalf("read back (-want +got):\n%s", diff)
	}
}

// TestText checks the rule for NUL bytes and invalid UTF-8 in every text
// field: stored as audit.Text, the original kept in _raw, read back as is.
func TestText(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	bad := "a\x00b\xffc"
	e := event(1, audit.P(bad, bad), audit.P("ent", audit.Ref(bad, bad)), audit.P("json", audit.JSONValue([]byte("\"\xff\""))))
	e.Type, e.Message, e.StackTrace, e.Fingerprint, e.SessionID, e.UserID = bad+"t", bad+"m", bad+"s", bad+"f", bad+"x", bad+"u"
	// The same strings after audit.Text, in another event, stay distinct.
	clean, _ := audit.Text(bad)
	e2 := event(2, audit.P(clean, clean))
	e2.Type, e2.SessionID, e2.UserID = clean+"t", clean+"x", clean+"u"
	if err := s.Write(ctx, []audit.Event{e, e2}); err != nil {
		t.Fatal(err)
	}
	got := audittest.ReadAll(t, s, audit.Query{})
	if diff := cmp.Diff([]audit.Event{e2, e}, got, eventCmp); diff != "" {
		t.Fatalf("read back (-want +got):\n%s", diff)
	}
	for _, q := range []audit.Query{
		{Types: []string{bad + "t"}}, {UserIDs: []string{bad + "u"}}, {SessionIDs: []string{bad + "x"}},
		{Object: &audit.Entity{Kind: bad, ID: bad}}, {Object: &audit.Entity{ID: bad}},
	} {
		if got := audittest.ReadAll(t, s, q); len(got) != 1 || got[0].ID != e.ID {
			t.Errorf("query %+v: got %d events, want the one with bad text", q, len(got))
		}
	}
	var text string
	var raw []byte
	if err := s.DB().QueryRowx(`SELECT description, description_raw FROM "`+s.Schema()+`".events WHERE id = $1`, e.ID).Scan(&text, &raw); err != nil {
		t.Fatal(err)
	}
	if want, _ := audit.Text(bad + "m"); text != want || string(raw) != bad+"m" {
		t.Errorf("description %q raw %q", text, raw)
	}
}

func TestIdempotentWrite(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	a, b, c := event(1, audit.P("k", 1)), event(2, audit.P("k", 2)), event(3)
	if err := s.Write(ctx, []audit.Event{a, b}); err != nil {
		t.Fatal(err)
	}
	changed := a
	changed.Message = "changed"
	// A retry with a new event, a changed copy of a stored one and a duplicate
	// within the batch.
	if err := s.Write(ctx, []audit.Event{b, changed, c, c}); err != nil {
		t.Fatal(err)
	}
	got := audittest.ReadAll(t, s, audit.Query{})
	if diff := cmp.Diff([]audit.Event{c, b, a}, got, eventCmp); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestInvalidEvent(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	good := event(1)
	for name, e := range map[string]audit.Event{
		"no id":     {Time: base, Level: audit.LevelInfo},
		"no time":   {ID: uuid.New(), Level: audit.LevelInfo},
		"bad level": {ID: uuid.New(), Time: base},
		"dup param": {ID: uuid.New(), Time: base, Level: audit.LevelInfo, Params: []audit.Param{audit.P("a", 1), audit.P("a", 2)}},
	} {
		err := s.Write(ctx, []audit.Event{good, e})
		if !errors.Is(err, audit.ErrInvalidEvent) || !audit.IsPermanent(err) {
			t.Errorf("%s: got %v, want ErrInvalidEvent", name, err)
		}
	}
	if got := audittest.ReadAll(t, s, audit.Query{}); len(got) != 0 {
		t.Errorf("a refused batch stored %d events", len(got))
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	var all []audit.Event
	for i := range 30 {
		e := event(i, audit.P("n", i))
		e.Level = []audit.Level{audit.LevelInfo, audit.LevelAudit, audit.LevelUsage}[i%3]
		e.Type = []string{"a", "b"}[i%2]
		e.UserID = []string{"u1", "u2", ""}[i%3]
		e.SessionID = []string{"s1", "s2", "s3", ""}[i%4]
		if i%5 == 0 {
			e.Params = append(e.Params, audit.P("obj", audit.Ref("project", "p1")))
		}
		all = append(all, e)
	}
	// Same-time events order by id.
	all[29].Time = all[28].Time
	if err := s.Write(ctx, all); err != nil {
		t.Fatal(err)
	}
	queries := []audit.Query{
		{},
		{Limit: 7},
		{Since: base.Add(5 * time.Second), Until: base.Add(20 * time.Second), Limit: 4},
		{Levels: []audit.Level{audit.LevelUsage, audit.LevelInfo}, Limit: 3},
		{Types: []string{"b"}},
		{UserIDs: []string{"u2", "nobody"}},
		{SessionIDs: []string{"s3", "s1"}, Limit: 2},
		{Object: &audit.Entity{ID: "p1"}},
		{Object: &audit.Entity{Kind: "project", ID: "p1"}, Limit: 1},
		{Object: &audit.Entity{Kind: "query", ID: "p1"}},
		{Types: []string{"a"}, Levels: []audit.Level{audit.LevelAudit}, UserIDs: []string{"u1", "u2"}},
	}
	for _, q := range queries {
		var want []audit.Event
		for i := range all {
			if ok, _ := q.Matches(&all[i]); ok {
				want = append(want, all[i])
			}
		}
		sortNewestFirst(want)
		got := audittest.ReadAll(t, s, q)
		if diff := cmp.Diff(want, got, eventCmp); diff != "" {
			t.Errorf("query %+v (-want +got):\n%s", q, diff)
		}
	}
	if _, err := s.Read(ctx, audit.Query{After: "garbage"}); !errors.Is(err, audit.ErrInvalidCursor) {
		t.Errorf("bad cursor: got %v", err)
	}
}

func sortNewestFirst(events []audit.Event) {
	for i := 1; i < len(events); i++ {
		for j := i; j > 0 && audit.NewestFirst(events[j-1], events[j]) > 0; j-- {
			events[j-1], events[j] = events[j], events[j-1]
		}
	}
}

// TestDatagrokQueries runs queries written against Datagrok's tables.
func TestDatagrokQueries(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	qid := uuid.NewString()
	e := event(1, audit.P("rows", 1234), audit.P("query", audit.Ref("query", qid)), audit.P("missing", nil))
	e.SessionID = uuid.NewString()
	e.UserID = "alice"
	errEv := event(2)
	errEv.Level, errEv.Type, errEv.Message, errEv.StackTrace, errEv.Fingerprint = audit.LevelError, audit.TypeError, "boom", "stack", "fp1"
	if err := s.Write(ctx, []audit.Event{e, errEv}); err != nil {
		t.Fatal(err)
	}
	db := s.DB()
	mustGet := func(dest any, q string, args ...any) {
		t.Helper()
		if _, err := db.Exec("SET search_path TO " + quote(s.Schema())); err != nil {
			t.Fatal(err)
		}
		if err := db.Get(dest, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.SetMaxOpenConns(1) // search_path is per connection
	var n int
	mustGet(&n, `SELECT v.value::int FROM events e
		JOIN event_types t ON t.id = e.event_type_id
		JOIN event_parameter_values v ON v.event_id = e.id
		JOIN event_parameters p ON p.id = v.parameter_id
		WHERE t.friendly_name = 'query-start' AND t.source = 'audit' AND p.name = 'rows'`)
	if n != 1234 {
		t.Errorf("value::int = %d", n)
	}
	var null string
	mustGet(&null, `SELECT v.value FROM event_parameter_values v JOIN event_parameters p ON p.id = v.parameter_id WHERE p.name = 'missing'`)
	if null != "null" {
		t.Errorf("null param stored as %q", null)
	}
	var id uuid.UUID
	mustGet(&id, `SELECT v.event_id FROM event_parameter_values v JOIN event_parameters p ON p.id = v.parameter_id
		WHERE p.type = 'entity_id' AND v.value_uuid = $1`, qid)
	if id != e.ID {
		t.Errorf("entity lookup by value_uuid found %s", id)
	}
	var user string
	mustGet(&user, `SELECT u.login FROM events e JOIN users_sessions s ON s.id = e.session_id
		JOIN users u ON u.id = s.user_id WHERE e.id = $1`, e.ID)
	if user != "alice" {
		t.Errorf("users.login of users_sessions.user_id = %q", user)
	}
	var hash, msg string
	mustGet(&hash, `SELECT t.error_stack_trace_hash FROM events e JOIN event_types t ON t.id = e.event_type_id WHERE e.is_error`)
	mustGet(&msg, `SELECT error_message FROM events WHERE is_error AND error_stack_trace = 'stack'`)
	if hash != "fp1" || msg != "boom" {
		t.Errorf("error hash %q message %q", hash, msg)
	}
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t) + "_new" // does not exist yet: Migrate makes it
	t.Cleanup(func() { pgtest.Admin(t).Exec("DROP SCHEMA IF EXISTS " + quote(schema) + " CASCADE") })
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close(ctx)
			errs[i] = s.Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	var versions []int
	if err := pgtest.Admin(t).Select(&versions, "SELECT version FROM "+quote(schema)+".audit_migrations ORDER BY version"); err != nil {
		t.Fatal(err)
	}
	if want := len(postgres.Migrations()); len(versions) != want {
		t.Errorf("applied versions %v, want %d", versions, want)
	}
}

// TestMigrationSQL applies the by-hand script and checks the store works on
// it and finds nothing left to migrate.
func TestMigrationSQL(t *testing.T) {
	t.Parallel()
	schema := pgtest.Schema(t)
	script, err := postgres.MigrationSQL(postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	db := pgtest.Admin(t)
	if _, err := db.Exec(script); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{Schema: schema, NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if n, err := s.Pending(ctx); n != 0 || err != nil {
		t.Fatalf("Pending after the script = %d, %v", n, err)
	}
	if err := s.Write(context.Background(), []audit.Event{event(1)}); err != nil {
		t.Fatal(err)
	}
}

func TestHostileSchemaName(t *testing.T) {
	t.Parallel()
	schema := pgtest.Schema(t) + `"; DROP TABLE x; --`
	t.Cleanup(func() { pgtest.Admin(t).Exec("DROP SCHEMA IF EXISTS " + quote(schema) + " CASCADE") })
	s := newStoreDSN(t, pgtest.DSN(t), schema)
	e := event(1, audit.P("k", "v"))
	if err := s.Write(context.Background(), []audit.Event{e}); err != nil {
		t.Fatal(err)
	}
	if got := audittest.ReadAll(t, s, audit.Query{}); len(got) != 1 {
		t.Fatalf("read %d events", len(got))
	}
}

func TestOptions(t *testing.T) {
	db := sqlx.NewDb(nil, "sqlite")
	if _, err := postgres.New(db, postgres.Options{}); !errors.Is(err, audit.ErrInvalidOptions) {
		t.Errorf("other driver: %v", err)
	}
	pg := sqlx.NewDb(nil, "postgres")
	for _, o := range []postgres.Options{
		{Schema: strings.Repeat("x", 64)},
		{Schema: "a\x00b"},
		{SessionCache: -1},
		{ActivityWindow: -time.Second},
	} {
		if _, err := postgres.New(pg, o); !errors.Is(err, audit.ErrInvalidOptions) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// TestRegistryRace has many stores meet the same new types and params at
// the same moment.
func TestRegistryRace(t *testing.T) {
	t.Parallel()
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	newStoreDSN(t, dsn, schema) // migrate
	ctx := context.Background()
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	start := make(chan struct{})
	for w := range writers {
		s := newStoreDSN(t, dsn, schema)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var batch []audit.Event
			for i := range 20 {
				e := event(i, audit.P("p"+fmt.Sprint(i%4), i), audit.P("who", w))
				e.Type = "type-" + fmt.Sprint(i%5)
				e.SessionID = "shared-session"
				batch = append(batch, e)
			}
			errs[w] = s.Write(ctx, batch)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	db := pgtest.Admin(t)
	// The rows the logger wrote: the store's own datagrok-started events
	// (and their event type) are left out.
	logged := map[string]string{
		"events":      " WHERE coalesce(comment, '') <> 'synthetic'",
		"event_types": " WHERE friendly_name <> 'datagrok-started'",
	}
	count := func(table string) (n int) {
		if err := db.Get(&n, "SELECT count(*) FROM "+quote(schema)+"."+table+logged[table]); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("event_types"); n != 5 {
		t.Errorf("event_types: %d rows, want 5", n)
	}
	if n := count("event_parameters"); n != 5*(4+1) {
		t.Errorf("event_parameters: %d rows, want 25", n)
	}
	if n := count("users_sessions"); n != 1 {
		t.Errorf("users_sessions: %d rows, want 1", n)
	}
	if n := count("events"); n != writers*20 {
		t.Errorf("events: %d rows", n)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Nothing listens on port 1.
	_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2", postgres.Options{})
	if !errors.Is(err, audit.ErrUnavailable) {
		t.Errorf("connection refused: %v, want ErrUnavailable", err)
	}

	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) { testDriverErrors(t, d.open(t, pgtest.DSN(t), pgtest.Schema(t)), d.name) })
	}
}

// testDriverErrors checks the errors of a store through one driver: a
// constraint violation wraps ErrConflict and the driver's error, and a
// closed store refuses with ErrClosed.
func testDriverErrors(t *testing.T, s *postgres.Store, driver string) {
	ctx := context.Background()
	e := event(1, audit.P("k", "v"))
	if err := s.Write(ctx, []audit.Event{event(0, audit.P("k", "v"))}); err != nil {
		t.Fatal(err)
	}
	// A value row left behind for an event that is not stored makes the
	// batch violate the values' primary key.
	if _, err := s.DB().Exec(`INSERT INTO `+quote(s.Schema())+`.event_parameter_values (event_id, parameter_id, value, event_time)
		SELECT $1, id, 'x', $2 FROM `+quote(s.Schema())+`.event_parameters`, e.ID.String(), e.Time); err != nil {
		t.Fatal(err)
	}
	err := s.Write(ctx, []audit.Event{e})
	var pqErr *pq.Error
	var pgErr *pgconn.PgError
	driverErr := map[string]bool{"libpq": errors.As(err, &pqErr), "pgx": errors.As(err, &pgErr)}[driver]
	if !errors.Is(err, audit.ErrConflict) || errors.Is(err, audit.ErrUnavailable) || !driverErr || !audit.IsPermanent(err) {
		t.Errorf("constraint violation: %v, want ErrConflict wrapping the driver's error", err)
	}
	if !strings.HasPrefix(err.Error(), "postgres: ") {
		t.Errorf("error %q lacks the package prefix", err)
	}

	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []audit.Event{event(2)}); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if _, err := s.Read(ctx, audit.Query{}); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
}

// TestNoMigrate checks that Open with NoMigrate, and NewPool, leave a new
// schema alone, that Pending tells it, and that Migrate brings it up to date.
func TestNoMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{Schema: pgtest.Schema(t), NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	pool, err := pgxpool.New(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	p, err := postgres.NewPool(pool, postgres.Options{Schema: s.Schema()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for _, st := range []*postgres.Store{s, p} {
		if _, err := st.Pending(ctx); !errors.Is(err, postgres.ErrNotMigrated) {
			t.Errorf("Pending of a new schema: %v, want ErrNotMigrated", err)
		}
	}
	if err := p.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Pending(ctx); n != 0 || err != nil {
		t.Errorf("Pending after Migrate = %d, %v", n, err)
	}
}
