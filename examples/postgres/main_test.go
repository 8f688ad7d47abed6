package main

import (
	"context"
	"testing"

	"github.com/auditkit/audit/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRun runs the example against the test server, twice on one schema:
// the second run finds the tables migrated and appends.
func TestRun(t *testing.T) {
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	for range 2 {
		if err := run(context.Background(), dsn, schema); err != nil {
			t.Fatal(err)
		}
	}
}
