package main

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/auditkit/audit/store/sqlite"
)

// TestReadsNeverWrite checks that the read commands open SQLite read-only:
// they answer while another connection holds the write lock, and a file
// that lacks a migration exits 4 and is left as it was.
func TestReadsNeverWrite(t *testing.T) {
	ctx := context.Background()
	db := sqliteFixture(t)
	env := map[string]string{envDB: db}
	other, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	out := auditctl(t, env, "overview").ok(t)
	contains(t, "overview while another connection writes", out, "events")
	if _, err := conn.ExecContext(ctx, "DELETE FROM audit_migrations"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}

	r := auditctl(t, env, "errors")
	if r.code != exitNotMigrated {
		t.Errorf("errors on a file without its migration: exit %d, want %d; stderr:\n%s", r.code, exitNotMigrated, r.stderr)
	}
	n := len(sqlite.Migrations())
	contains(t, "stderr", r.stderr, fmt.Sprintf("lacks %d of %d migrations: run 'auditctl migrate'", n, n))
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM audit_migrations").Scan(&n); err != nil || n != 0 {
		t.Errorf("after a read, audit_migrations has %d rows (%v), want it left empty", n, err)
	}
}
