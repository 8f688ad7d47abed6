// Command settings shows the logger settings at work: a policy file with
// presets per group, user and package, the decisions and their reasons for a
// few subjects, a time-boxed override that expires on its own, a live edit
// of the file, and a broken edit that leaves the last good policy in force.
// It needs no server.
//
//	go run ./examples/settings [-policy path]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/store/memory"
)

const policyJSON = `{
  "levels": {"print": ["error"]},
  "rules": [
    {"scope": "everyone", "preset": "standard"},
    {"scope": "group", "id": "analysts", "preset": "custom", "remove": ["project-opened"]},
    {"scope": "group", "id": "support", "preset": "custom", "add_levels": ["info"]},
    {"scope": "user", "id": "carol", "preset": "off", "comment": "load test account"},
    {"scope": "package", "id": "charts", "preset": "custom", "remove": ["viewer-rendered", "usage"]}
  ]
}
`

func main() {
	path := flag.String("policy", filepath.Join(os.TempDir(), "audit-settings-example.json"), "policy file to write and watch")
	flag.Parse()
	if err := run(context.Background(), *path); err != nil {
		fmt.Fprintln(os.Stderr, "settings:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string) error {
	if err := writeFile(path, policyJSON); err != nil {
		return err
	}
	engine, err := settings.New(settings.Config{}, settings.Options{})
	if err != nil {
		return err
	}
	defer engine.Close(ctx)

	store := memory.New(memory.Options{})
	printer := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "audit.id" {
				return slog.Attr{} // keep the output short
			}
			return a
		},
	}))
	logger, err := audit.New(audit.Options{Store: store, Policy: engine, Printer: printer, Sync: true})
	if err != nil {
		return err
	}
	defer logger.Close(ctx)

	watchErrs := make(chan error, 4)
	watcher, err := settings.Watch(engine, path, settings.WatchOptions{
		Interval: 20 * time.Millisecond,
		OnError:  func(err error) { watchErrs <- err },
		Logger:   logger.WithUser("admin"),
	})
	if err != nil {
		return err
	}
	defer watcher.Close(ctx)
	fmt.Printf("policy file: %s\n\n", path)

	subjects := []audit.Subject{
		{UserID: "alice", Groups: []string{"analysts"}},
		{UserID: "bob", Groups: []string{"analysts", "support"}},
		{UserID: "carol", Groups: []string{"support"}},
		{UserID: "dave", Groups: []string{"viewers"}, Package: "charts"},
	}
	events := []struct {
		level audit.Level
		typ   string
	}{
		{audit.LevelAudit, datagrok.QueryStart},
		{audit.LevelAudit, datagrok.ProjectOpened},
		{audit.LevelUsage, datagrok.DialogOK},
		{audit.LevelUsage, datagrok.Click},
		{audit.LevelInfo, ""},
		{audit.LevelError, audit.TypeError},
	}
	table := func(title string) {
		fmt.Println("== " + title)
		fmt.Printf("%-6s", "")
		for _, ev := range events {
			fmt.Printf(" %-14s", label(ev.level, ev.typ))
		}
		fmt.Println()
		for _, s := range subjects {
			b := engine.Bind(s)
			fmt.Printf("%-6s", s.UserID)
			for _, ev := range events {
				fmt.Printf(" %-14s", short(b.Route(ev.level, ev.typ)))
			}
			fmt.Println()
		}
		fmt.Println("   (S = stored, E = exported, P = printed, - = not logged)")
		fmt.Println()
	}
	table("decisions under the file's policy")

	fmt.Println("== why, for bob (two groups: the union of what they log)")
	x := engine.Explain(subjects[1])
	fmt.Print(x)
	fmt.Println(x.Why(audit.LevelInfo, ""))
	fmt.Println(x.Why(audit.LevelAudit, datagrok.ProjectOpened))
	fmt.Println()

	// A time-boxed override: verbose for dave for the next 300ms. Appended
	// after his other rules, it wins while it lasts.
	p := engine.Policy()
	p.Rules = append(append([]settings.Rule(nil), p.Rules...), settings.Rule{
		Scope: settings.ScopeUser, ID: "dave", Preset: settings.PresetVerbose,
		Expires: time.Now().Add(300 * time.Millisecond), Comment: "debugging a report",
	})
	if err := engine.Set(p); err != nil {
		return err
	}
	dave := logger.WithSubject(subjects[3])
	table("verbose for dave for 300ms")
	dave.Usage("chart drawn", datagrok.ViewerRendered) // stored: the override applies
	time.Sleep(400 * time.Millisecond)
	dave.Usage("chart drawn", datagrok.ViewerRendered) // not stored: it expired
	table("400ms later: the override expired, with no restart")

	// A live edit of the file: support now logs everything.
	edited := strings.Replace(policyJSON, `"id": "support", "preset": "custom", "add_levels": ["info"]`, `"id": "support", "preset": "verbose"`, 1)
	if err := writeFile(path, edited); err != nil {
		return err
	}
	waitFor(func() bool { return engine.Bind(subjects[1]).Route(audit.LevelDebug, "") != 0 })
	table("after editing the file (support: verbose)")

	// A broken edit is reported and changes nothing.
	if err := writeFile(path, strings.Replace(edited, `"preset": "verbose"`, `"preset": "loud"`, 1)); err != nil {
		return err
	}
	fmt.Println("== a broken edit")
	fmt.Println("reported:", <-watchErrs)
	fmt.Println("bob's debug events still go to:", settings.RouteString(engine.Bind(subjects[1]).Route(audit.LevelDebug, "")))
	fmt.Println()

	fmt.Println("== what the Logger did (error events are printed, per the print list)")
	alice := logger.WithSubject(subjects[0])
	alice.Usage("pressed OK", datagrok.DialogOK)
	alice.Audit("opened project", datagrok.ProjectOpened) // removed for analysts
	alice.Error("query failed: timeout")
	logger.WithSubject(subjects[2]).Audit("ran a query", datagrok.QueryStart) // carol: off
	page, err := store.Read(ctx, audit.Query{Limit: 100})
	if err != nil {
		return err
	}
	fmt.Println("stored, oldest first:")
	for i := len(page.Events) - 1; i >= 0; i-- {
		e := page.Events[i]
		fmt.Printf("  %-6s %-8s %-20s %s\n", e.UserID, e.Level, e.Type, e.Message)
	}
	return nil
}

func label(l audit.Level, typ string) string {
	if typ == "" {
		return l.String()
	}
	return typ
}

func short(r audit.Route) string {
	s := ""
	for _, c := range []struct {
		r audit.Route
		s string
	}{{audit.RouteStore, "S"}, {audit.RouteExport, "E"}, {audit.RoutePrint, "P"}} {
		if r&c.r != 0 {
			s += c.s
		}
	}
	if s == "" {
		return "-"
	}
	return s
}

// writeFile replaces the file at once, as editors and config managers do.
func writeFile(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func waitFor(cond func() bool) {
	for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}
