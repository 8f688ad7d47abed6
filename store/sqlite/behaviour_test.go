package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/store/sqlite"
)

func TestOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct {
		path  string
		opts  sqlite.Options
		field string
	}{
		{"", sqlite.Options{}, "path"},
		{":memory:", sqlite.Options{}, "path"},
		{"file:x.db?mode=ro", sqlite.Options{}, "path"},
		{filepath.Join(dir, "a.db"), sqlite.Options{BusyTimeout: time.Microsecond}, "BusyTimeout"},
		{filepath.Join(dir, "a.db"), sqlite.Options{ReadConns: -1}, "ReadConns"},
		{filepath.Join(dir, "a.db"), sqlite.Options{SessionCache: -1}, "SessionCache"},
		{filepath.Join(dir, "a.db"), sqlite.Options{ActivityWindow: -time.Hour}, "ActivityWindow"},
	} {
		_, err := sqlite.Open(ctx, tc.path, tc.opts)
		if !errors.Is(err, audit.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("Open(%q, %+v) = %v, want ErrInvalidOptions naming %s", tc.path, tc.opts, err, tc.field)
		}
	}
	// A missing directory is not created.
	if _, err := sqlite.Open(ctx, filepath.Join(dir, "no", "such", "dir.db"), sqlite.Options{}); !errors.Is(err, audit.ErrUnavailable) {
		t.Errorf("Open in a missing directory = %v, want ErrUnavailable", err)
	}
}

// TestOddPath opens a file whose name has the characters that URIs give a
// meaning.
func TestOddPath(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a?b#c%20d é.db")
	s := openStore(t, path, sqlite.Options{})
	if err := s.Write(context.Background(), []audit.Event{event(1)}); err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	if _, err := filepath.Glob(path); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "a?b#c%20d é.db")); len(m) != 1 {
		t.Errorf("file %q not created: %v", path, m)
	}
}

// TestLocked holds the write lock from another connection: a write that
// cannot have it within the busy timeout fails with ErrUnavailable, and
// succeeds once the lock is released.
func TestLocked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "locked.db")
	s := openStore(t, path, sqlite.Options{BusyTimeout: 50 * time.Millisecond})
	if err := s.Write(ctx, []audit.Event{event(0)}); err != nil { // the event type is known: the lock is met by the batch
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := event(1)
	err = s.Write(ctx, []audit.Event{e})
	t.Logf("Write while locked: %v", err)
	if !errors.Is(err, audit.ErrUnavailable) {
		t.Errorf("Write while locked = %v, want ErrUnavailable", err)
	}
	// Reads go on beside the lock.
	if _, err := s.Read(ctx, audit.Query{}); err != nil {
		t.Errorf("Read while locked: %v", err)
	}
	tx.Rollback()
	if err := s.Write(ctx, []audit.Event{e}); err != nil {
		t.Errorf("Write after unlock: %v", err)
	}
	if got := audittest.ReadAll(t, s, audit.Query{}); len(got) != 2 {
		t.Errorf("read %d events, want 2", len(got))
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := s.Write(ctx, []audit.Event{event(1)}); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Read(ctx, audit.Query{}); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Read after Close = %v, want ErrClosed", err)
	}
}

// TestReopen writes, closes and opens the file again: the data is kept and
// the migrations are not applied twice.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "reopen.db")
	a := openStore(t, path, sqlite.Options{})
	e := event(1, audit.P("q", audit.Ref("query", "q1")))
	if err := a.Write(ctx, []audit.Event{e}); err != nil {
		t.Fatal(err)
	}
	a.Close(ctx)
	b := openStore(t, path, sqlite.Options{})
	if err := b.Write(ctx, []audit.Event{e, event(2)}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, b, "events"); n != 2 {
		t.Errorf("events: %d rows, want 2", n)
	}
	if n := count(t, b, "audit_migrations"); n != len(sqlite.Migrations()) {
		t.Errorf("audit_migrations: %d rows, want %d", n, len(sqlite.Migrations()))
	}
	var mode string
	if err := b.DB().Get(&mode, "PRAGMA journal_mode"); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

// TestReadOnlyDB checks that the connections DB returns cannot write.
func TestReadOnlyDB(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	if _, err := s.DB().Exec("DELETE FROM events"); err == nil {
		t.Error("DELETE through DB() succeeded, want an error")
	}
}

// TestEncodings reads the tables with SQL: ids are 16-byte blobs, times
// integer microseconds, booleans 0 or 1, and Datagrok's queries work.
func TestEncodings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	e := event(1, audit.P("query", audit.Ref("query", "q1")), audit.P("rows", 42))
	e.Time = e.Time.Add(1500 * time.Nanosecond) // stored as whole µs
	e.Level, e.Type, e.Message, e.StackTrace, e.Fingerprint = audit.LevelError, audit.TypeError, "boom", "main.f()", "fp1"
	e.Duration = 3 * time.Millisecond
	if err := s.Write(ctx, []audit.Event{e}); err != nil {
		t.Fatal(err)
	}
	var row struct {
		ID       string `db:"id"`
		Time     int64  `db:"event_time"`
		IsError  int64  `db:"is_error"`
		Duration int64  `db:"duration_ns"`
		When     string `db:"when"`
		Type     string `db:"friendly_name"`
		ErrMsg   string `db:"error_message"`
	}
	err := s.DB().Get(&row, `SELECT lower(hex(e.id)) AS id, e.event_time, e.is_error, e.duration_ns,
		strftime('%Y-%m-%d %H:%M:%f', e.event_time / 1e6, 'unixepoch') AS "when", t.friendly_name, e.error_message
		FROM events e JOIN event_types t ON t.id = e.event_type_id
		WHERE e.id = unhex(replace(?, '-', ''))`, e.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	want := row
	want.ID, want.Time, want.IsError, want.Duration = strings.ReplaceAll(e.ID.String(), "-", ""), e.Time.Truncate(time.Microsecond).UnixMicro(), 1, int64(3*time.Millisecond)
	want.When, want.Type, want.ErrMsg = "2025-03-01 12:00:01.000", "error", "boom"
	if diff := cmp.Diff(want, row); diff != "" {
		t.Errorf("events row (-want +got):\n%s", diff)
	}
	// Time ranges in SQL, as the package doc writes them.
	var n int
	if err := s.DB().Get(&n, `SELECT count(*) FROM events WHERE event_time >= unixepoch('2025-03-01 12:00:01') * 1000000
		AND event_time < unixepoch('2025-03-01 12:00:01', '+1 second') * 1000000`); err != nil || n != 1 {
		t.Errorf("time range in SQL: %d, %v; want 1", n, err)
	}
	// Datagrok's lookup of an object's events, and value's text semantics.
	err = s.DB().Get(&n, `SELECT count(*) FROM event_parameter_values v
		JOIN event_parameters p ON p.id = v.parameter_id
		WHERE (p.type = 'entity_id' AND v.value = 'q1') OR (p.name = 'rows' AND CAST(v.value AS INTEGER) = 42)`)
	if err != nil || n != 2 {
		t.Errorf("value lookups: %d, %v; want 2", n, err)
	}
	// A bound below a µs is rounded up, so Since keeps its meaning.
	stored := e.Time.Truncate(time.Microsecond)
	for _, tc := range []struct {
		since time.Time
		want  int
	}{{stored, 1}, {stored.Add(time.Nanosecond), 0}, {stored.Add(-time.Nanosecond), 1}} {
		if got := audittest.ReadAll(t, s, audit.Query{Since: tc.since}); len(got) != tc.want {
			t.Errorf("Since %s: %d events, want %d", tc.since.Format(time.RFC3339Nano), len(got), tc.want)
		}
	}
	// The object lookup uses the partial index on value.
	var plan []struct {
		ID     int    `db:"id"`
		Parent int    `db:"parent"`
		NotUse int    `db:"notused"`
		Detail string `db:"detail"`
	}
	if err := s.DB().Select(&plan, `EXPLAIN QUERY PLAN SELECT event_id FROM event_parameter_values v WHERE v.entity_kind IS NOT NULL AND v.value IN ('q1') AND v.value_raw IS NULL`); err != nil {
		t.Fatal(err)
	}
	if len(plan) == 0 || !strings.Contains(plan[0].Detail, "event_parameter_values_entity") {
		t.Errorf("object lookup plan = %+v, want the index event_parameter_values_entity", plan)
	}
}

// TestReadOnly opens a file read-only: it reads, refuses writes, never
// creates nor migrates a file, and Pending tells a file without the tables.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "a.db")
	w := openStore(t, path, sqlite.Options{})
	e := event(1, audit.P("k", "v"))
	if err := w.Write(ctx, []audit.Event{e}); err != nil {
		t.Fatal(err)
	}
	r := openStore(t, path, sqlite.Options{ReadOnly: true})
	if got := audittest.ReadAll(t, r, audit.Query{}); len(got) != 1 || got[0].ID != e.ID {
		t.Errorf("read-only store reads %v", got)
	}
	if n, err := r.Pending(ctx); n != 0 || err != nil {
		t.Errorf("Pending = %d, %v", n, err)
	}
	if err := r.Write(ctx, []audit.Event{event(2)}); !errors.Is(err, sqlite.ErrReadOnly) || !audit.IsPermanent(err) {
		t.Errorf("Write to a read-only store: %v, want a permanent ErrReadOnly", err)
	}

	missing := filepath.Join(dir, "missing.db")
	if s, err := sqlite.Open(ctx, missing, sqlite.Options{ReadOnly: true}); err == nil {
		s.Close(ctx)
		t.Error("read-only Open of a missing file succeeded")
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only Open created the file: %v", err)
	}

	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, empty, sqlite.Options{ReadOnly: true})
	if _, err := s.Pending(ctx); !errors.Is(err, sqlite.ErrNotMigrated) {
		t.Errorf("Pending of an empty file: %v, want ErrNotMigrated", err)
	}
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Errorf("the empty file changed: %v, %v", fi.Size(), err)
	}
}
