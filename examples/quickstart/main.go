// Command quickstart logs a short, realistic session of a data service into
// a SQLite file, under the Standard settings preset, and reads it back: an
// object's activity over the last 7 days and the errors grouped by stack
// fingerprint. It ends with the auditctl commands that list the menu items
// nobody clicked and serve the dashboard of the file. It needs no server. Each run appends to the file.
//
//	go run ./examples/quickstart [-db path] [-events n] [-jsonl path]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/export/jsonl"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/store/sqlite"
)

func main() {
	db := flag.String("db", filepath.Join(os.TempDir(), "audit-quickstart.db"), "the SQLite file to log to (created if missing, appended to otherwise)")
	n := flag.Int("events", 300, "how many user actions to simulate")
	export := flag.String("jsonl", "", "also export every event as JSON lines to this file (appended)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, config{db: *db, events: *n, jsonl: *export}); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

type config struct {
	db     string
	events int
	jsonl  string // empty: no export
	seed   uint64 // of the simulated session; 0: the time
}

func run(ctx context.Context, out io.Writer, cfg config) (err error) {
	store, err := sqlite.Open(ctx, cfg.db, sqlite.Options{})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close(ctx)) }()

	// What is logged for whom: the Standard preset for everyone, the
	// default of an empty policy.
	engine, err := settings.New(settings.Config{}, settings.Options{})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, engine.Close(ctx)) }()

	// The session is played in a moment, on a clock that runs it over the
	// minutes before now, a few seconds per action.
	clock := &simClock{t: time.Now().Add(-time.Duration(cfg.events) * 6 * time.Second)}
	opts := audit.Options{Store: store, Policy: engine, Params: map[string]any{"service": "quickstart"}, Now: clock.now}
	var flushExport func() error
	if cfg.jsonl != "" {
		f, err := os.OpenFile(cfg.jsonl, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600) // an audit trail: the owner only
		if err != nil {
			return err
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		opts.Sinks = []audit.Sink{jsonl.New(w, jsonl.Options{})}
		flushExport = w.Flush
	}
	logger, err := audit.New(opts)
	if err != nil {
		return err
	}
	seed := cfg.seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	simulate(ctx, logger, clock, cfg.events, seed)
	if err := logger.Close(ctx); err != nil { // flushes: every event is committed
		return err
	}
	if flushExport != nil {
		if err := flushExport(); err != nil {
			return err
		}
	}
	s := logger.Stats()
	var total int
	// Logged events only: the store's own datagrok-started events, one per
	// session, are marked comment = 'synthetic'.
	if err := store.DB().GetContext(ctx, &total, "SELECT count(*) FROM events WHERE coalesce(comment, '') <> 'synthetic'"); err != nil {
		return err
	}
	fmt.Fprintf(out, "logged %d events, wrote %d, dropped %d, failed %d\n", s.Logged, s.Written, s.Dropped, s.Failed)
	fmt.Fprintf(out, "database: %s (%d events in all)\n", store.Path(), total)
	if cfg.jsonl != "" {
		fmt.Fprintf(out, "exported to: %s\n", cfg.jsonl)
	}
	fmt.Fprintln(out)

	if err := printActivity(ctx, out, store, audit.Ref("query", "q-sales")); err != nil {
		return err
	}
	if err := printErrors(ctx, out, store); err != nil {
		return err
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Menu items nobody clicked, and the least used:")
	cmd := "  go run ./cmd/auditctl --db " + store.Path() + " unused --table menu-items"
	for _, item := range menuItems {
		cmd += " --item '" + item + "'"
	}
	fmt.Fprintln(out, cmd)
	fmt.Fprintln(out)
	fmt.Fprintln(out, "The same log in the browser (overview, log with live tail, errors, performance, ...):")
	fmt.Fprintln(out, "  go run ./cmd/auditctl --db "+store.Path()+" serve")
	return nil
}

// menuItems are the application's main menu. The simulated users click
// only the first ones; the log tells which ones nobody uses.
var menuItems = []string{"File | Open", "Data | Query", "Help", "Tools | Export to PDF", "View | Legacy report"}

// simulate plays a session: several users opening projects, running queries
// and a forecast function, clicking menus, and hitting a couple of errors.
func simulate(ctx context.Context, logger *audit.Logger, clock *simClock, n int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	users := []struct{ id, group string }{{"alice", "analysts"}, {"bob", "analysts"}, {"carol", "admins"}, {"dave", "viewers"}}
	queries := []string{"q-sales", "q-churn", "q-inventory"}
	projects := []string{"p-q3-review", "p-forecast"}
	for i := range n {
		clock.advance(time.Duration(1000+rng.IntN(8000)) * time.Millisecond)
		u := users[rng.IntN(len(users))]
		l := logger.WithUser(u.id, u.group).WithSession(u.id + "-session")
		q := audit.Ref("query", queries[rng.IntN(len(queries))])
		switch r := rng.IntN(20); {
		case r < 6:
			took := time.Duration(20+rng.IntN(400)) * time.Millisecond
			l.LogEvent(ctx, audit.Event{
				Level: audit.LevelAudit, Type: datagrok.QueryStart, Message: "query executed", Duration: took,
				Params: []audit.Param{audit.P("query", q), audit.P("rows", rng.IntN(10000))},
			})
		case r < 8:
			forecast(ctx, l, clock, q, rng)
		case r < 11:
			l.Log("project opened", map[string]any{"project": audit.Ref("project", projects[rng.IntN(len(projects))])}, datagrok.ProjectOpened)
		case r < 15:
			l.Usage("menu item clicked", map[string]any{"item": menuItems[rng.IntN(3)]}, datagrok.MainMenuItemClick)
		case r < 17:
			l.Log("table produced", map[string]any{"query": q, "table": audit.Ref("table", fmt.Sprintf("t-%d", i)), "columns": []string{"region", "revenue"}}, datagrok.TableProduced)
		case r < 19:
			l.Log("query edited", audit.Any("query", q), audit.String("field", "sql"), datagrok.QueryEdited)
		default:
			if i%2 == 0 {
				connect(l, q)
			} else {
				parse(l, q)
			}
		}
	}
}

// forecast is a function call recorded with Logger.Call: its inputs, its
// output or error, and the time it took. One in eight fails, and is recorded
// as an error of the call with its stack.
func forecast(ctx context.Context, l *audit.Logger, clock *simClock, input audit.Entity, rng *rand.Rand) {
	horizon := 7 * (1 + rng.IntN(4))
	call := l.Call(ctx, "Sales:Forecast", map[string]any{"query": input, "horizon_days": horizon})
	clock.advance(time.Duration(200+rng.IntN(1800)) * time.Millisecond) // the model runs
	if rng.IntN(8) == 0 {
		call.End(nil, fmt.Errorf("forecast %s: %w", input.ID, errHistory))
		return
	}
	call.End(map[string]any{"table": audit.Ref("table", fmt.Sprintf("forecast-%s-%d", input.ID, horizon))}, nil)
}

// simClock is the simulated session's clock.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *simClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	errTimeout = errors.New("connection timed out")
	errHistory = errors.New("not enough history")
)

func connect(l *audit.Logger, q audit.Entity) {
	l.Error(fmt.Errorf("query %s: %w", q.ID, errTimeout), map[string]any{"query": q, "host": "db-1"})
}

func parse(l *audit.Logger, q audit.Entity) {
	l.Error("syntax error at or near \"FORM\"", audit.Any("query", q))
}

// printActivity prints what happened to obj over the last 7 days, newest
// first (Datagrok's Activity pane).
func printActivity(ctx context.Context, out io.Writer, store *sqlite.Store, obj audit.Entity) error {
	events, err := store.Activity(ctx, obj, time.Time{}) // the last 7 days
	if err != nil {
		return err
	}
	const show = 10
	fmt.Fprintf(out, "Activity of %s over 7 days: %d events, newest %d:\n", obj, len(events), min(show, len(events)))
	for _, e := range events[:min(show, len(events))] {
		took := ""
		if e.Duration > 0 {
			took = e.Duration.Round(time.Millisecond).String()
		}
		line := fmt.Sprintf("  %s  %-6s %-7s %-15s %-23s %s", e.Time.Local().Format("01-02 15:04:05"), e.UserID, e.Level, e.Type, e.Message, took)
		fmt.Fprintln(out, strings.TrimRight(line, " "))
	}
	fmt.Fprintln(out)
	return nil
}

// printErrors groups the error events by stack fingerprint with one SQL
// query on the store's tables.
func printErrors(ctx context.Context, out io.Writer, store *sqlite.Store) error {
	var groups []struct {
		Fingerprint string `db:"fingerprint"`
		Count       int    `db:"n"`
		Users       int    `db:"users"`
		Last        string `db:"last_seen"`
		Sample      string `db:"sample"`
	}
	err := store.DB().SelectContext(ctx, &groups, `
		SELECT error_stack_trace_hash AS fingerprint, count(*) AS n, count(DISTINCT user_id) AS users,
		       strftime('%m-%d %H:%M:%S', max(event_time) / 1000000, 'unixepoch', 'localtime') AS last_seen,
		       max(description) AS sample
		FROM events
		WHERE is_error = 1 AND error_stack_trace_hash IS NOT NULL
		GROUP BY error_stack_trace_hash
		ORDER BY n DESC, fingerprint`)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "Errors grouped by stack fingerprint:")
	for _, g := range groups {
		fmt.Fprintf(out, "  %.12s  %4d times, %d users, last %s  e.g. %q\n", g.Fingerprint, g.Count, g.Users, g.Last, g.Sample)
	}
	return nil
}
