package pg_test

import (
	"testing"

	"github.com/auditkit/audit/internal/driver/pg"
)

// TestMigrations reads the embedded migrations: versions 1, 2, ... with SQL.
func TestMigrations(t *testing.T) {
	ms := pg.Migrations()
	if len(ms) == 0 {
		t.Fatal("no migrations")
	}
	for i, m := range ms {
		if m.Version != i+1 || m.Name == "" || m.SQL == "" {
			t.Errorf("migration %d: version %d, name %q, %d bytes of SQL", i, m.Version, m.Name, len(m.SQL))
		}
	}
}
