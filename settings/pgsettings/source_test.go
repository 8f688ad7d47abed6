package pgsettings_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lib/pq"
	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/settings/pgsettings"
	"github.com/auditkit/audit/store/memory"
)

func TestMain(m *testing.M) { pgtest.Main(m, func() error { return goleak.Find() }) }

// process is what one service instance has: an engine, a Logger deciding
// by it with a memory store, and a Source on the shared schema.
type process struct {
	engine *settings.Engine
	logger *audit.Logger
	store  *memory.Store
	src    *pgsettings.Source
	errs   *audittest.ErrorLog
}

func start(t *testing.T, dsn, schema string, opts pgsettings.Options) *process {
	t.Helper()
	ctx := context.Background()
	e, err := settings.New(settings.Config{}, settings.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &process{engine: e, store: memory.New(memory.Options{}), errs: &audittest.ErrorLog{}}
	p.logger, err = audit.New(audit.Options{Store: p.store, Policy: e, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	opts.Schema = schema
	opts.Logger = p.logger
	opts.OnError = p.errs.Add
	p.src, err = pgsettings.Open(ctx, dsn, e, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.src.Close(ctx); err != nil {
			t.Error(err)
		}
		p.logger.Close(ctx)
		e.Close(ctx)
	})
	return p
}

func (p *process) events(t *testing.T, typ string) []audit.Event {
	t.Helper()
	page, err := p.store.Read(context.Background(), audit.Query{Types: []string{typ}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

func verboseFor(user string) settings.Config {
	return settings.Config{Rules: []settings.Rule{
		{Scope: settings.ScopeEveryone, Preset: settings.PresetStandard},
		{Scope: settings.ScopeUser, ID: user, Preset: settings.PresetVerbose},
	}}
}

// TestTwoProcesses runs two service instances on one database: a change
// made through one is applied live by the other, by notification (the
// periodic re-read is set to an hour), within a second, including to child
// loggers bound before the change.
func TestTwoProcesses(t *testing.T) {
	ctx := context.Background()
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	a := start(t, dsn, schema, pgsettings.Options{PollInterval: time.Hour})
	b := start(t, dsn, schema, pgsettings.Options{PollInterval: time.Hour})
	alice := b.logger.WithUser("alice", "devs")
	if alice.Enabled(ctx, audit.LevelDebug, "") {
		t.Fatal("alice's debug events are logged before any change")
	}

	v, err := a.src.Set(ctx, verboseFor("alice"), "admin", "debugging alice's reports")
	if err != nil {
		t.Fatal(err)
	}
	set := time.Now()
	if !a.logger.WithUser("alice").Enabled(ctx, audit.LevelDebug, "") {
		t.Fatal("the change is not in force in the process that made it")
	}
	for !alice.Enabled(ctx, audit.LevelDebug, "") {
		if time.Since(set) > time.Second {
			t.Fatalf("the other process did not apply version %d within a second", v.Version)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("applied by the other process %s after Set returned", time.Since(set))
	if got := b.src.Applied(); got != v.Version {
		t.Errorf("the other process reports version %d, want %d", got, v.Version)
	}
	if err := alice.Debug("now logged", nil); err != nil {
		t.Fatal(err)
	}
	if got := b.events(t, ""); len(got) != 1 || got[0].Message != "now logged" {
		t.Errorf("the other process stored %v, want alice's debug event", got)
	}

	// And back, from the other side: a revert.
	if _, err := b.src.Revert(ctx, 0, "admin"); !errors.Is(err, pgsettings.ErrNoVersion) {
		t.Fatalf("Revert(0) = %v, want ErrNoVersion", err)
	}
	if _, err := b.src.Set(ctx, settings.Config{}, "admin", "incident closed"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for a.logger.WithUser("alice").Enabled(ctx, audit.LevelDebug, "") {
		if time.Now().After(deadline) {
			t.Fatal("the first process did not apply the other's change within a second")
		}
		time.Sleep(time.Millisecond)
	}

	// Each change is recorded by the process that made it, attributed to
	// who made it.
	for name, p := range map[string]*process{"a": a, "b": b} {
		evs := p.events(t, datagrok.LogSettingsChanged)
		if len(evs) != 1 || evs[0].UserID != "admin" || evs[0].Level != audit.LevelAudit {
			t.Errorf("process %s recorded %+v, want one audit event by admin", name, evs)
		}
	}
	if errs := append(a.errs.Errors(), b.errs.Errors()...); len(errs) > 0 {
		t.Errorf("errors reported: %v", errs)
	}
}

func TestHistoryAndRevert(t *testing.T) {
	ctx := context.Background()
	p := start(t, pgtest.DSN(t), pgtest.Schema(t), pgsettings.Options{})
	if h, err := p.src.History(ctx, 0); err != nil || len(h) != 0 {
		t.Fatalf("History of a new table = %v, %v", h, err)
	}
	v1, err := p.src.Set(ctx, verboseFor("alice"), "admin", "first")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := p.src.Set(ctx, verboseFor("bob"), "root", "second")
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version <= v1.Version || v2.Config.Version != v2.Version {
		t.Fatalf("versions %d then %d (policy says %d)", v1.Version, v2.Version, v2.Config.Version)
	}
	if got := p.src.Effective(audit.Subject{UserID: "bob"}); got.Version != v2.Version || got.Scope != settings.ScopeUser {
		t.Fatalf("Effective(bob) = version %d, scope %q", got.Version, got.Scope)
	}

	v3, err := p.src.Revert(ctx, v1.Version, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if v3.RevertOf != v1.Version || v3.Comment != fmt.Sprintf("revert to version %d", v1.Version) {
		t.Errorf("revert = %+v", v3)
	}
	x := p.src.Effective(audit.Subject{UserID: "alice"})
	if x.Version != v3.Version || x.Route(audit.LevelDebug, "") == 0 {
		t.Errorf("after the revert, alice: version %d, debug %v", x.Version, x.Route(audit.LevelDebug, ""))
	}

	h, err := p.src.History(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, v := range h {
		got = append(got, v.Version)
	}
	if len(h) != 3 || got[0] != v3.Version || got[2] != v1.Version {
		t.Fatalf("History versions = %v, want newest first %d..%d", got, v3.Version, v1.Version)
	}
	if h[1].ChangedBy != "root" || h[1].Comment != "second" || h[1].ChangedAt.IsZero() || h[0].RevertOf != v1.Version {
		t.Errorf("History = %+v", h)
	}
	if h[0].Config.Rules[1].ID != "alice" || h[0].Config.Version != v3.Version {
		t.Errorf("the reverted version holds %+v", h[0].Config)
	}
	if h, err := p.src.History(ctx, 1); err != nil || len(h) != 1 || h[0].Version != v3.Version {
		t.Errorf("History(1) = %v, %v", h, err)
	}
	evs := p.events(t, datagrok.LogSettingsChanged)
	if len(evs) != 3 {
		t.Fatalf("%d log-settings-changed events, want 3", len(evs))
	}
	if rv, ok := evs[0].Param("revert_of"); !ok || rv.String() != fmt.Sprint(v1.Version) {
		t.Errorf("the revert's event has revert_of = %v, %v", rv, ok)
	}
}

// TestBrokenVersion writes versions that cannot be applied straight into
// the table, as a hand edit or a newer release might: each is reported
// once, and the last good policy stays in force.
func TestBrokenVersion(t *testing.T) {
	ctx := context.Background()
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	p := start(t, dsn, schema, pgsettings.Options{PollInterval: 10 * time.Millisecond})
	good, err := p.src.Set(ctx, verboseFor("alice"), "admin", "")
	if err != nil {
		t.Fatal(err)
	}
	db := pgtest.Admin(t)
	table := pq.QuoteIdentifier(schema) + "." + pgsettings.Table
	for _, policy := range []string{
		`{"rules": [{"scope": "user", "id": "alice", "preset": "loud"}]}`,
		`{"rules": [{"scope": "user", "id": "alice", "preset": "off"}], "colour": "red"}`,
	} {
		before := len(p.errs.Errors())
		if _, err := db.Exec("INSERT INTO "+table+" (policy) VALUES ($1)", policy); err != nil {
			t.Fatal(err)
		}
		audittest.Eventually(t, "the broken version to be reported", func() bool { return len(p.errs.Errors()) > before })
		time.Sleep(50 * time.Millisecond) // several more polls
		errs := p.errs.Errors()
		if len(errs) != before+1 || !errors.Is(errs[before], settings.ErrInvalidPolicy) {
			t.Fatalf("errors = %v, want one more, wrapping ErrInvalidPolicy", errs)
		}
		if p.src.Applied() != good.Version || !p.logger.WithUser("alice").Enabled(ctx, audit.LevelDebug, "") {
			t.Fatal("a broken version replaced the good one")
		}
	}

	// A new process starting on a broken current version keeps its own
	// policy, reports the version, and starts.
	q := start(t, dsn, schema, pgsettings.Options{})
	if errs := q.errs.Errors(); len(errs) != 1 || !errors.Is(errs[0], settings.ErrInvalidPolicy) {
		t.Fatalf("errors at start = %v", errs)
	}

	// The next good version applies everywhere.
	v, err := q.src.Set(ctx, settings.Config{}, "admin", "fixed")
	if err != nil {
		t.Fatal(err)
	}
	audittest.Eventually(t, "the good version to apply", func() bool { return p.src.Applied() == v.Version })
}

// TestPollFallback shows the periodic re-read applying a version whose
// notification was never sent.
func TestPollFallback(t *testing.T) {
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	p := start(t, dsn, schema, pgsettings.Options{PollInterval: 20 * time.Millisecond})
	table := pq.QuoteIdentifier(schema) + "." + pgsettings.Table
	if _, err := pgtest.Admin(t).Exec("INSERT INTO "+table+" (policy, changed_by) VALUES ($1, 'psql')",
		`{"rules": [{"scope": "group", "id": "devs", "preset": "verbose"}]}`); err != nil {
		t.Fatal(err)
	}
	audittest.Eventually(t, "the re-read to apply the version", func() bool {
		return p.logger.WithUser("x", "devs").Enabled(context.Background(), audit.LevelDebug, "")
	})
}

func TestOpenAppliesCurrent(t *testing.T) {
	ctx := context.Background()
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	a := start(t, dsn, schema, pgsettings.Options{})
	v, err := a.src.Set(ctx, verboseFor("carol"), "admin", "")
	if err != nil {
		t.Fatal(err)
	}
	b := start(t, dsn, schema, pgsettings.Options{})
	if b.src.Applied() != v.Version || b.engine.Policy().Version != v.Version {
		t.Fatalf("a new process applied version %d, want %d", b.src.Applied(), v.Version)
	}
}

func TestSetInvalid(t *testing.T) {
	ctx := context.Background()
	p := start(t, pgtest.DSN(t), pgtest.Schema(t), pgsettings.Options{})
	_, err := p.src.Set(ctx, settings.Config{Rules: []settings.Rule{{Scope: settings.ScopeUser, Preset: settings.PresetOff}}}, "admin", "")
	if !errors.Is(err, settings.ErrInvalidPolicy) {
		t.Fatalf("Set(invalid) = %v", err)
	}
	if h, _ := p.src.History(ctx, 0); len(h) != 0 {
		t.Fatalf("an invalid policy was stored: %v", h)
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	e, _ := settings.New(settings.Config{}, settings.Options{})
	src, err := pgsettings.Open(ctx, pgtest.DSN(t), e, pgsettings.Options{Schema: pgtest.Schema(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(ctx); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := src.Set(ctx, settings.Config{}, "a", ""); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("Set after Close = %v", err)
	}
}

func TestOptions(t *testing.T) {
	ctx := context.Background()
	e, _ := settings.New(settings.Config{}, settings.Options{})
	for _, o := range []pgsettings.Options{{PollInterval: -1}, {Schema: string(make([]byte, 64))}} {
		if _, err := pgsettings.Open(ctx, "postgres://unused", e, o); !errors.Is(err, audit.ErrInvalidOptions) {
			t.Errorf("Open(%+v) = %v", o, err)
		}
	}
	if _, err := pgsettings.Open(ctx, "postgres://unused", nil, pgsettings.Options{}); !errors.Is(err, audit.ErrInvalidOptions) {
		t.Errorf("Open(nil engine) = %v", err)
	}
}
