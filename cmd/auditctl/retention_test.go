package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/sqlite"
	"github.com/google/uuid"
)

// agedEvents are 10 debug events 40 days old, 5 audit events 40 days old
// and 3 debug events of today: at now, with the default retention, the 10
// old debug events expire.
func agedEvents() []audit.Event {
	var out []audit.Event
	add := func(n int, l audit.Level, age time.Duration) {
		for range n {
			out = append(out, audit.Event{ID: uuid.Must(uuid.NewV7()), Time: now.Add(-age), Level: l, Type: "t",
				Params: []audit.Param{audit.P("k", "v")}})
		}
	}
	add(10, audit.LevelDebug, 40*audit.Day)
	add(5, audit.LevelAudit, 40*audit.Day)
	add(3, audit.LevelDebug, time.Hour)
	return out
}

// checkRetention runs retention --dry-run, then retention, then --keep
// audit=30 --dry-run, against the database of env.
func checkRetention(t *testing.T, env map[string]string) {
	t.Helper()
	removed := func(args ...string) map[string]int64 {
		var v retentionJSON
		if err := json.Unmarshal([]byte(auditctl(t, env, append([]string{"retention", "--json"}, args...)...).ok(t)), &v); err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, r := range v.Removed {
			out[r.Table+"/"+r.Level] += r.Rows
		}
		return out
	}
	for i, want := range []int64{10, 10, 0} { // dry run, run, nothing left
		args := []string{"--dry-run"}
		if i == 1 {
			args = nil
		}
		got := removed(args...)
		if got["events/debug"] != want || got["event_parameter_values/debug"] != want || got["events/audit"] != 0 {
			t.Errorf("run %d %v: removed %v, want %d debug events and values, no audit ones", i, args, got, want)
		}
	}
	if got := removed("--dry-run", "--keep", "audit=30"); got["events/audit"] != 5 {
		t.Errorf("--keep audit=30: removed %v, want 5 audit events", got)
	}
	out := auditctl(t, env, "retention", "--dry-run").ok(t)
	contains(t, "retention --dry-run", out, "would remove (dry run)", "debug events before "+now.Add(-30*audit.Day).Format(time.RFC3339))
	if r := auditctl(t, env, "retention", "--keep", "trace=3"); r.code != exitUsage {
		t.Errorf("--keep trace=3: exit %d, want %d", r.code, exitUsage)
	}
}

func TestRetentionSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), agedEvents()); err != nil {
		t.Fatal(err)
	}
	s.Close(context.Background())
	checkRetention(t, map[string]string{envDB: path})
}

func TestRetentionPostgres(t *testing.T) {
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	s := openPG(t, dsn, schema)
	if err := s.Write(context.Background(), agedEvents()); err != nil {
		t.Fatal(err)
	}
	s.Close(context.Background())
	env := map[string]string{envDB: dsn, envSchema: schema}
	checkRetention(t, env)
	contains(t, "migrate --partition", auditctl(t, env, "migrate", "--partition").ok(t), "were partitioned already")
}

type closingStore interface {
	audit.Store
	Close(context.Context) error
}

// TestRetentionChained runs retention on a database with a signed digest
// chain, SQLite and Postgres: it records the expiry under the key, and
// verify then finds nothing wrong and counts the removed events as
// expired.
func TestRetentionChained(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "hmac")
	if err := os.WriteFile(keyFile, []byte("chain signing key"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit.db")
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	for _, db := range []struct {
		name string
		env  map[string]string
		open func(w *chain.Writer) (closingStore, error)
	}{
		{"sqlite", map[string]string{envDB: path}, func(w *chain.Writer) (closingStore, error) {
			return sqlite.Open(context.Background(), path, sqlite.Options{Chain: w})
		}},
		{"postgres", map[string]string{envDB: dsn, envSchema: schema}, func(w *chain.Writer) (closingStore, error) {
			return postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema, Chain: w})
		}},
	} {
		t.Run(db.name, func(t *testing.T) {
			w, err := chain.NewWriter(chain.Options{Key: chain.Key{HMAC: []byte("chain signing key")}})
			if err != nil {
				t.Fatal(err)
			}
			s, err := db.open(w)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Write(context.Background(), agedEvents()); err != nil {
				t.Fatal(err)
			}
			s.Close(context.Background())
			auditctl(t, db.env, "retention", "--key", keyFile).ok(t)
			out := auditctl(t, db.env, "verify", "--key", keyFile).ok(t)
			contains(t, "verify after retention", out, "OK:", "10 expired")
		})
	}
}

// TestRetentionSettings takes the periods from the current settings
// version of a Postgres schema, --keep overriding them.
func TestRetentionSettings(t *testing.T) {
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	s := openPG(t, dsn, schema)
	if err := s.Write(context.Background(), agedEvents()); err != nil {
		t.Fatal(err)
	}
	s.Close(context.Background())
	env := map[string]string{envDB: dsn, envSchema: schema, "USER": "tester"}
	run := func(args ...string) (string, map[string]int64) {
		t.Helper()
		var v retentionJSON
		if err := json.Unmarshal([]byte(auditctl(t, env, append([]string{"retention", "--json", "--dry-run"}, args...)...).ok(t)), &v); err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, r := range v.Removed {
			if r.Table == "events" {
				out[r.Level] += r.Rows
			}
		}
		return v.Source, out
	}
	if src, got := run(); src != "defaults" || got["debug"] != 10 || got["audit"] != 0 {
		t.Errorf("without settings: %s, removed %v; want the defaults, 10 debug events", src, got)
	}
	policy := `{"retention": {"audit": {"days": 20}, "debug": {"days": 60}}}`
	auditctlIn(t, context.Background(), env, policy, "settings", "set", "-m", "shorter audit").ok(t)
	if src, got := run(); src != "settings version 1" || got["debug"] != 0 || got["audit"] != 5 {
		t.Errorf("with settings: %s, removed %v; want settings version 1, 5 audit events and no debug", src, got)
	}
	if src, got := run("--keep", "audit=60"); src != "settings version 1, --keep" || got["debug"] != 0 || got["audit"] != 0 {
		t.Errorf("with settings and --keep audit=60: %s, removed %v; want nothing", src, got)
	}
	contains(t, "retention text", auditctl(t, env, "retention", "--dry-run").ok(t), "retention periods: settings version 1")
}
