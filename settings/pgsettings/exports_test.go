package pgsettings_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/settings/pgsettings"
)

// TestExportsAndGroupsLive checks that export blocks and group nesting
// changed through one process reach the other live, and come back whole
// from the history.
func TestExportsAndGroupsLive(t *testing.T) {
	ctx := context.Background()
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	a := start(t, dsn, schema, pgsettings.Options{PollInterval: time.Hour})
	b := start(t, dsn, schema, pgsettings.Options{PollInterval: time.Hour})
	intern := b.logger.WithUser("ivan", "interns")
	if intern.Enabled(ctx, audit.LevelDebug, "") {
		t.Fatal("the intern's debug events are logged before any change")
	}

	p := settings.Config{
		Groups: map[string][]string{"staff": {"analysts"}, "analysts": {"interns"}},
		Rules:  []settings.Rule{{Scope: settings.ScopeGroup, ID: "staff", Preset: settings.PresetVerbose}},
		Exports: []settings.ExportBlock{
			{Name: "errors", Levels: []audit.Level{audit.LevelError}, LogGroup: "/app/errors", Params: []string{},
				Streams: map[string]string{"error": "app_errors"}, BatchSize: 100, Format: "text"},
			{Name: "rest", Disabled: true, LogGroup: "/app/audit", Types: []string{"log"}},
		},
	}
	v, err := a.src.Set(ctx, p, "admin", "export errors")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for len(b.engine.ExportBlocks()) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the other process did not apply version %d within a second", v.Version)
		}
		time.Sleep(time.Millisecond)
	}
	if d := cmp.Diff(p.Exports, b.engine.ExportBlocks()); d != "" {
		t.Errorf("export blocks in the other process (-set +applied):\n%s", d)
	}
	if !intern.Enabled(ctx, audit.LevelDebug, "") {
		t.Error("staff's rule does not reach interns through analysts in the other process")
	}
	hist, err := b.src.History(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(p.Groups, hist[0].Config.Groups); d != "" {
		t.Errorf("groups in the history (-set +read):\n%s", d)
	}
	if d := cmp.Diff(p.Exports, hist[0].Config.Exports); d != "" {
		t.Errorf("export blocks in the history (-set +read):\n%s", d)
	}

	// A cycle is refused and changes nothing stored.
	bad := p
	bad.Groups = map[string][]string{"staff": {"analysts"}, "analysts": {"staff"}}
	if _, err := a.src.Set(ctx, bad, "admin", "oops"); err == nil {
		t.Fatal("Set stored a policy with a group cycle")
	}
	if hist, err := a.src.History(ctx, 10); err != nil || len(hist) != 1 {
		t.Errorf("History = %d versions, %v; want the one valid version", len(hist), err)
	}
}
