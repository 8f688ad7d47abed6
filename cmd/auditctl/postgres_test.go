package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/store/postgres"
)

func TestIsPostgres(t *testing.T) {
	for db, want := range map[string]bool{
		"postgres://u@h/db":              true,
		"postgresql://u@h/db":            true,
		"host=localhost dbname=audit":    true,
		"dbname=audit":                   true,
		"audit.db":                       false,
		"/var/lib/audit/postgres.sqlite": false,
	} {
		if got := isPostgres(db); got != want {
			t.Errorf("isPostgres(%q) = %v, want %v", db, got, want)
		}
	}
}

// openPG opens the Postgres store of the test's schema.
func openPG(t *testing.T, dsn, schema string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPostgresMigrateAndAsk migrates a new schema, fills it and asks it
// questions, following it while a logger writes.
func TestPostgresMigrateAndAsk(t *testing.T) {
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	env := map[string]string{envDB: dsn, envSchema: schema}

	r := auditctl(t, env, "usage")
	if r.code != exitNotMigrated || !strings.Contains(r.stderr, "has no audit tables: run 'auditctl migrate'") {
		t.Fatalf("usage before migrate: exit %d, stderr %q", r.code, r.stderr)
	}
	script := auditctl(t, env, "migrate", "--print").ok(t)
	contains(t, "migrate --print", script, "CREATE SCHEMA IF NOT EXISTS", "INSERT INTO audit_migrations (version, name) VALUES (1, 'init')", "COMMIT;")
	for range 2 { // the second finds nothing to do
		contains(t, "migrate", auditctl(t, env, "migrate").ok(t), pgLastMigration())
	}

	store := openPG(t, dsn, schema)
	writeFixture(t, store)
	store.Close(context.Background())
	// The questions below read the rollups where they cover the window.
	contains(t, "rollup --rebuild", auditctl(t, env, "rollup", "--rebuild").ok(t), "up to date in")
	contains(t, "rollup", auditctl(t, env, "rollup").ok(t), "up to date in")
	if r := auditctl(t, env, "rollup", "--since", "7d"); r.code != exitUsage {
		t.Errorf("rollup --since without --rebuild: exit %d, stderr %q", r.code, r.stderr)
	}

	contains(t, "usage", auditctl(t, env, "usage").ok(t), "17 events (all events), 4 users, 7 record types")
	contains(t, "errors", auditctl(t, env, "errors").ok(t), "3 errors in 2 groups", "connection timed out")
	contains(t, "perf", auditctl(t, env, "perf").ok(t), "GET     /api/items  4      1       0.250")
	contains(t, "history", auditctl(t, env, "history", "table:t-1").ok(t), "origin  2026-11-18 12:08:00  function-call  bob")
	out := auditctl(t, env, "feed", "--all", "--csv").ok(t)
	if recs, err := csv.NewReader(strings.NewReader(out)).ReadAll(); err != nil || len(recs) != fixtureEvents+1 {
		t.Errorf("feed --all --csv: %d records, %v", len(recs), err)
	}

	write := func() {
		s := openPG(t, dsn, schema)
		defer s.Close(context.Background())
		logger, err := audit.New(audit.Options{Store: s, Sync: true})
		if err != nil {
			t.Fatal(err)
		}
		logger.WithUser("erin").Log("late arrival", nil, datagrok.ProjectOpened)
		logger.Close(context.Background())
	}
	out = follow(t, dsn, write, `"late arrival"`, "--schema", schema, "--json", "--limit", "1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"status"`) || !strings.Contains(lines[1], `"user_id":"erin"`) {
		t.Errorf("feed -f --json on Postgres: want 2 JSON lines:\n%s", out)
	}
}

// TestPostgresSettings sets, shows, explains and reverts the settings of
// a schema, and finds the changes in the audit log.
func TestPostgresSettings(t *testing.T) {
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	env := map[string]string{envDB: dsn, envSchema: schema, "USER": "tester"}
	auditctl(t, env, "migrate").ok(t)
	ctx := context.Background()

	r := auditctl(t, env, "settings", "show")
	if r.code != exitNotFound || !strings.Contains(r.stderr, "auditctl: settings show: no settings version is stored") {
		t.Fatalf("show with no version: exit %d, stderr %q", r.code, r.stderr)
	}
	contains(t, "empty history", auditctl(t, env, "settings", "history").ok(t), "(none)")

	policy := `{"rules": [{"scope": "user", "id": "bob", "preset": "verbose", "comment": "ticket 42"},
		{"scope": "group", "id": "analysts", "preset": "off"}]}`
	out := auditctlIn(t, ctx, env, policy, "settings", "set", "--by", "alice", "-m", "debug bob").ok(t)
	contains(t, "set", out, "Version 1 stored, by alice: 2 rules")

	r = auditctlIn(t, ctx, env, `{"rules": [{"scope": "planet", "preset": "verbose"}]}`, "settings", "set", "-")
	if r.code != exitUsage || !strings.Contains(r.stderr, "rules[0].scope") {
		t.Errorf("set of an invalid policy: exit %d, stderr %q", r.code, r.stderr)
	}
	r = auditctlIn(t, ctx, map[string]string{envDB: dsn, envSchema: schema}, policy, "settings", "set")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--by is required") {
		t.Errorf("set without --by nor $USER: exit %d, stderr %q", r.code, r.stderr)
	}

	out = auditctl(t, env, "settings", "show").ok(t)
	contains(t, "show", out, "Version 1, by alice at", "Comment: debug bob", "print:  warning error (default)",
		"0      user   bob       verbose", "ticket 42")
	p, err := settings.Parse([]byte(auditctl(t, env, "settings", "show", "--policy").ok(t)))
	if err != nil || len(p.Rules) != 2 {
		t.Errorf("show --policy does not parse back: %v, %+v", err, p)
	}

	out = auditctl(t, env, "settings", "effective", "--user", "bob", "--group", "analysts", "--type", "click").ok(t)
	contains(t, "effective", out, "deciding scope: user", `debug event of type "click": store+export, by rules[0] (user "bob", verbose`,
		"outranked  1      group  analysts  off")
	var x struct {
		Scope  string
		Routes []struct{ Level, Type, Route string }
	}
	decode(t, auditctl(t, env, "settings", "effective", "--user", "carol", "--group", "analysts", "--json").ok(t), &x)
	if x.Scope != "group" || len(x.Routes) != 6 || x.Routes[0].Level != "debug" || x.Routes[0].Route != "not logged" {
		t.Errorf("effective --json for carol: %+v", x)
	}

	contains(t, "revert", auditctl(t, env, "settings", "revert", "1", "--by", "carol").ok(t), "Version 2 stored, by carol: the policy of version 1")
	r = auditctl(t, env, "settings", "revert", "99")
	if r.code != exitNotFound || !strings.Contains(r.stderr, "no such version: 99") {
		t.Errorf("revert to no such version: exit %d, stderr %q", r.code, r.stderr)
	}
	out = auditctl(t, env, "settings", "history", "--csv").ok(t)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 3 || recs[1][0] != "2" || recs[1][4] != "1" || recs[2][2] != "alice" {
		t.Errorf("history --csv: %v\n%s", err, out)
	}

	// Each change is in the audit log, by who made it (at the same time
	// on the tests' clock, so in either order).
	out = auditctl(t, env, "feed", "--type", datagrok.LogSettingsChanged, "--csv").ok(t)
	recs, err = csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 3 || recs[1][3]+" "+recs[2][3] != "carol alice" && recs[1][3]+" "+recs[2][3] != "alice carol" {
		t.Errorf("log-settings-changed events: %v\n%s", err, out)
	}
}

// TestPostgresMigrateGrant migrates with --grant-writer and --grant-reader:
// the writer may insert and select on every table but not update or delete,
// the reader only select; a missing role is an error.
func TestPostgresMigrateGrant(t *testing.T) {
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	env := map[string]string{envDB: dsn, envSchema: schema}
	admin := pgtest.Admin(t)
	suffix := strings.ReplaceAll(t.Name()+schema, "/", "_")
	writer, reader := "w "+suffix, "r'"+suffix
	for _, role := range []string{writer, reader} {
		q := `"` + strings.ReplaceAll(role, `"`, `""`) + `"`
		if _, err := admin.Exec("CREATE ROLE " + q + " NOLOGIN"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Exec("DROP OWNED BY " + q + "; DROP ROLE " + q) })
	}
	out := auditctl(t, env, "migrate", "--grant-writer", writer, "--grant-reader", reader).ok(t)
	contains(t, "migrate --grant-*", out, "is a writer of schema", "is a reader of schema", pgLastMigration())

	var tables []string
	if err := admin.Select(&tables, "SELECT tablename FROM pg_tables WHERE schemaname = $1", schema); err != nil || len(tables) < 8 {
		t.Fatalf("tables of %s: %v, %v", schema, tables, err)
	}
	for _, table := range tables {
		qualified := `"` + schema + `"."` + table + `"`
		for _, c := range []struct {
			role, priv string
			want       bool
		}{
			{writer, "INSERT", true}, {writer, "SELECT", true}, {writer, "UPDATE", false}, {writer, "DELETE", false}, {writer, "TRUNCATE", false},
			{reader, "SELECT", true}, {reader, "INSERT", false}, {reader, "UPDATE", false}, {reader, "DELETE", false},
		} {
			var got bool
			if err := admin.Get(&got, "SELECT has_table_privilege($1, $2, $3)", c.role, qualified, c.priv); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s on %s for %q = %v, want %v", c.priv, table, c.role, got, c.want)
			}
		}
	}
	r := auditctl(t, env, "migrate", "--grant-writer", "no such role "+suffix)
	if r.code == exitOK || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("migrate --grant-writer of a missing role: exit %d, stderr %q", r.code, r.stderr)
	}
}

// pgLastMigration is what migrate prints of a schema up to date.
func pgLastMigration() string {
	ms := postgres.Migrations()
	return fmt.Sprintf("is at migration %d (%s)", ms[len(ms)-1].Version, ms[len(ms)-1].Name)
}
