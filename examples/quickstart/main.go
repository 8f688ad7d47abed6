// Command quickstart logs a short, realistic session of a data service and
// reads it back: an object's activity over the last 7 days and the errors
// grouped by stack fingerprint. It needs no server.
//
//	go run ./examples/quickstart [-jsonl path] [-events n]
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/jsonl"
	"github.com/auditkit/audit/store/memory"
)

func main() {
	out := flag.String("jsonl", filepath.Join(os.TempDir(), "audit-quickstart.jsonl"), "also export every event as JSON lines to this file (appended)")
	n := flag.Int("events", 300, "how many user actions to simulate")
	flag.Parse()
	if err := run(context.Background(), *out, *n); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, jsonlPath string, n int) error {
	f, err := os.OpenFile(jsonlPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)

	store := memory.New()
	logger, err := audit.New(audit.Options{
		Store:  store,
		Sinks:  []audit.Sink{jsonl.New(w, jsonl.Options{})},
		Params: map[string]any{"service": "quickstart"},
	})
	if err != nil {
		return err
	}
	simulate(logger, n)
	if err := logger.Close(ctx); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	s := logger.Stats()
	fmt.Printf("logged %d events, wrote %d, dropped %d, failed %d; exported to %s\n\n", s.Logged, s.Written, s.Dropped, s.Failed, jsonlPath)

	if err := printActivity(ctx, store, audit.Ref("query", "q-sales")); err != nil {
		return err
	}
	return printErrors(ctx, store)
}

// simulate plays a session: several users opening projects, running
// queries and scripts, clicking menus, and hitting a couple of errors.
func simulate(logger *audit.Logger, n int) {
	rng := rand.New(rand.NewPCG(1, 2))
	users := []struct{ id, group string }{{"alice", "analysts"}, {"bob", "analysts"}, {"carol", "admins"}, {"dave", "viewers"}}
	queries := []string{"q-sales", "q-churn", "q-inventory"}
	projects := []string{"p-q3-review", "p-forecast"}
	for i := range n {
		u := users[rng.IntN(len(users))]
		l := logger.WithUser(u.id, u.group).WithSession(u.id + "-session")
		q := audit.Ref("query", queries[rng.IntN(len(queries))])
		switch r := rng.IntN(10); {
		case r < 3:
			took := time.Duration(20+rng.IntN(400)) * time.Millisecond
			l.LogEvent(context.Background(), audit.Event{
				Level: audit.LevelAudit, Type: audit.QueryStart, Message: "query executed", Duration: took,
				Params: []audit.Param{audit.P("query", q), audit.P("rows", rng.IntN(10000)), audit.P("ms", took.Milliseconds())},
			})
		case r < 5:
			l.Log("project opened", map[string]any{"project": audit.Ref("project", projects[rng.IntN(len(projects))])}, audit.ProjectOpened)
		case r < 7:
			l.Usage("menu item clicked", map[string]any{"item": []string{"File | Open", "Data | Query", "Help"}[rng.IntN(3)]}, audit.MainMenuItemClick)
		case r < 8:
			l.Log("table produced", map[string]any{"query": q, "table": audit.Ref("table", fmt.Sprintf("t-%d", i)), "columns": []string{"region", "revenue"}}, audit.TableProduced)
		case r < 9:
			l.Log("query edited", map[string]any{"query": q, "field": "sql"}, audit.QueryEdited)
		default:
			if i%2 == 0 {
				connect(l, q)
			} else {
				parse(l, q)
			}
		}
	}
}

var errTimeout = errors.New("connection timed out")

func connect(l *audit.Logger, q audit.Entity) {
	l.Error(fmt.Errorf("query %s: %w", q.ID, errTimeout), map[string]any{"query": q})
}

func parse(l *audit.Logger, q audit.Entity) {
	l.Error("syntax error at or near \"FORM\"", map[string]any{"query": q})
}

func printActivity(ctx context.Context, r audit.Reader, obj audit.Entity) error {
	page, err := r.Read(ctx, audit.Query{Object: &obj, Since: time.Now().Add(-7 * 24 * time.Hour), Limit: 8})
	if err != nil {
		return err
	}
	fmt.Printf("Activity of %s over 7 days (newest %d):\n", obj, len(page.Events))
	for _, e := range page.Events {
		fmt.Printf("  %s  %-8s %-7s %-18s %s\n", e.Time.Format("15:04:05.000"), e.UserID, e.Level, e.Type, e.Message)
	}
	fmt.Println()
	return nil
}

func printErrors(ctx context.Context, r audit.Reader) error {
	type group struct {
		fingerprint, sample string
		count               int
		users               map[string]bool
	}
	groups := map[string]*group{}
	q := audit.Query{Levels: []audit.Level{audit.LevelError}, Limit: 500}
	for {
		page, err := r.Read(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range page.Events {
			g := groups[e.Fingerprint]
			if g == nil {
				g = &group{fingerprint: e.Fingerprint, sample: e.Message, users: map[string]bool{}}
				groups[e.Fingerprint] = g
			}
			g.count++
			g.users[e.UserID] = true
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	list := make([]*group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	slices.SortFunc(list, func(a, b *group) int { return cmp.Compare(b.count, a.count) })
	fmt.Println("Errors grouped by stack fingerprint:")
	for _, g := range list {
		fmt.Printf("  %s  %3d times, %d users  e.g. %q\n", g.fingerprint[:12], g.count, len(g.users), g.sample)
	}
	return nil
}
