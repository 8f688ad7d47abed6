package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/store/sqlite"
)

// TestPasswordNeverPrinted checks help and errors with a DSN that carries
// a password: help masks it, and a malformed DSN is a usage error whose
// message masks it too.
func TestPasswordNeverPrinted(t *testing.T) {
	const secret = "s3cret-pw"
	good := map[string]string{envDB: "postgres://bob:" + secret + "@127.0.0.1:1/db"}
	for _, args := range [][]string{{"-h"}, {"help"}, {"usage", "-h"}, {"help", "feed"}, {"settings", "-h"}} {
		r := auditctl(t, good, args...)
		if r.code != exitOK {
			t.Errorf("%q: exit %d, stderr %s", args, r.code, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("%q prints the password:\n%s%s", args, r.stdout, r.stderr)
		}
	}
	if out := auditctl(t, good, "usage", "-h").stdout; !strings.Contains(out, "postgres://bob:xxxxx@127.0.0.1:1/db") {
		t.Errorf("usage -h does not show the masked $AUDIT_DB:\n%s", out)
	}
	for _, db := range []string{
		"postgres://bob:" + secret + "@localhost:bad/db",
		"postgresql://bob:" + secret + "%zz@localhost/db",
		"host=localhost password=" + secret + " dbname=db sslmode=bogus",
		"host=localhost password='" + secret + " dbname=db",
	} {
		for _, args := range [][]string{{"usage"}, {"migrate"}, {"settings", "show"}, {"--db", db, "feed"}} {
			r := auditctl(t, map[string]string{envDB: db}, args...)
			if r.code != exitUsage {
				t.Errorf("%s %q: exit %d, want %d (usage); stderr %s", db, args, r.code, exitUsage, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("%s %q prints the password:\n%s", db, args, r.stderr)
			}
			if !strings.Contains(r.stderr, "malformed Postgres DSN") || !strings.Contains(r.stderr, "xxxxx") {
				t.Errorf("%s %q: stderr %q, want the masked DSN", db, args, r.stderr)
			}
		}
	}
}

// TestOverviewCompact checks that the text overview leaves out the buckets
// without events, which CSV keeps.
func TestOverviewCompact(t *testing.T) {
	env := map[string]string{envDB: sqliteFixture(t)}
	out := auditctl(t, env, "overview").ok(t)
	_, levels, ok := strings.Cut(out, "Events per level")
	if !ok {
		t.Fatalf("no levels table in:\n%s", out)
	}
	rows := strings.Split(strings.TrimSpace(levels), "\n")[2:] // title line, header
	// The fixture's 17 events are within one hour: one or two 4-hour buckets.
	if len(rows) == 0 || len(rows) > 2 {
		t.Errorf("%d rows of levels, want 1 or 2:\n%s", len(rows), levels)
	}
	for _, row := range rows {
		if f := strings.Fields(row); len(f) < 3 || strings.Trim(strings.Join(f[2:], ""), "0") == "" {
			t.Errorf("a row without events: %q", row)
		}
	}
	csvOut := auditctl(t, env, "overview", "--csv", "--table", "levels").ok(t)
	if n := strings.Count(csvOut, "\n") - 1; n != 42 {
		t.Errorf("CSV has %d level rows, want every 4-hour bucket of the week (42)", n)
	}
}

// TestTextEscapesControls logs keys and values that carry terminal escape
// sequences, bidi overrides and invalid UTF-8, and checks that the text
// output of the questions shows them escaped.
func TestTextEscapesControls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	ctx := context.Background()
	store, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logger, err := audit.New(audit.Options{Store: store, Now: func() time.Time { return now.Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	hostile := "\x1b[2J\x1b]0;owned\x07\u202e\x9b31m\xff"
	l := logger.WithUser("eve" + hostile).WithSession("s" + hostile)
	l.LogEvent(ctx, audit.Event{Level: audit.LevelError, Type: "boom" + hostile, Message: "msg" + hostile,
		Fingerprint: "fp" + hostile, StackTrace: "stack" + hostile,
		Params: []audit.Param{audit.P("key"+hostile, "value"+hostile), audit.P("obj", audit.Ref("query", "q"+hostile)),
			audit.P("item", "menu"+hostile)}})
	if err := logger.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(ctx); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envDB: path}
	for _, args := range [][]string{
		{"feed"}, {"feed", "--all"}, {"activity", "q" + hostile}, {"usage"},
		{"errors", "--min-support", "1"}, {"unused"}, {"overview"}, {"history", "query:q" + hostile}, {"patterns"},
	} {
		r := auditctl(t, env, args...)
		for _, bad := range []string{"\x1b", "\x07", "\u202e", "\u009b", "\xff"} {
			if strings.Contains(r.stdout, bad) || strings.Contains(r.stderr, bad) {
				t.Errorf("%q: output holds %q raw:\n%q\n%q", args[0], bad, r.stdout, r.stderr)
			}
		}
	}
	out := auditctl(t, env, "feed").ok(t)
	contains(t, "feed", out, `item=menu\x1b[2J`, `boom\x1b[2J`, `\u202e`)
}
