package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRunTwice runs the quickstart twice on one file: the second run
// appends, and both print every section.
func TestRunTwice(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := config{db: filepath.Join(dir, "quickstart.db"), events: 300, jsonl: filepath.Join(dir, "events.jsonl"), seed: 1}
	totals := regexp.MustCompile(`\((\d+) events in all\)`)
	var last int
	for run1 := range 2 {
		var out strings.Builder
		if err := run(ctx, &out, cfg); err != nil {
			t.Fatalf("run %d: %v", run1+1, err)
		}
		got := out.String()
		for _, want := range []string{
			"logged 300 events, wrote 300, dropped 0, failed 0",
			"database: " + cfg.db,
			"Activity of query:q-sales over 7 days",
			"function-call   Sales:Forecast",
			"Errors grouped by stack fingerprint:",
			"connection timed out",
			`syntax error at or near \"FORM\"`,
			"not enough history",
			"go run ./cmd/auditctl --db " + cfg.db + " serve\n",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("run %d: output lacks %q:\n%s", run1+1, want, got)
			}
		}
		m := totals.FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("run %d: no total in output:\n%s", run1+1, got)
		}
		n, _ := strconv.Atoi(m[1])
		if n != last+300 {
			t.Errorf("run %d: %d events in all, want %d", run1+1, n, last+300)
		}
		last = n
	}
	// The files hold the trail: none is readable by group or others,
	// whatever the umask.
	for _, name := range []string{cfg.db, cfg.db + "-wal", cfg.jsonl} {
		fi, err := os.Stat(name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(name, "-wal") {
				continue // checkpointed away at Close
			}
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, want no access for group and others", filepath.Base(name), fi.Mode().Perm())
		}
	}
}
