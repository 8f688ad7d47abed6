package driver_test

import (
	"testing"

	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/pg"
	"github.com/auditkit/audit/internal/driver/sqlite"
)

// TestMigrations reads each driver's embedded migrations: versions 1, 2,
// ... with SQL, the same names on every driver.
func TestMigrations(t *testing.T) {
	pgm, litem := pg.Migrations(), sqlite.Migrations()
	if len(pgm) == 0 || len(pgm) != len(litem) {
		t.Fatalf("%d Postgres and %d SQLite migrations", len(pgm), len(litem))
	}
	for _, ms := range [][]driver.Migration{pgm, litem} {
		for i, m := range ms {
			if m.Version != i+1 || m.Name != pgm[i].Name || m.SQL == "" {
				t.Errorf("migration %d: version %d, name %q, %d bytes of SQL", i, m.Version, m.Name, len(m.SQL))
			}
		}
	}
}
