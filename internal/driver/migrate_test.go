package driver_test

import (
	"testing"

	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/pg"
	"github.com/auditkit/audit/internal/driver/sqlite"
)

// TestMigrations reads each driver's embedded migrations: increasing
// versions from 1 (a gap is allowed) with SQL, the same versions and names
// on every driver.
func TestMigrations(t *testing.T) {
	pgm, litem := pg.Migrations(), sqlite.Migrations()
	if len(pgm) == 0 || len(pgm) != len(litem) {
		t.Fatalf("%d Postgres and %d SQLite migrations", len(pgm), len(litem))
	}
	for _, ms := range [][]driver.Migration{pgm, litem} {
		for i, m := range ms {
			if m.Version != pgm[i].Version || (i == 0) != (m.Version == 1) || (i > 0 && m.Version <= ms[i-1].Version) || m.Name != pgm[i].Name || m.SQL == "" {
				t.Errorf("migration %d: version %d, name %q, %d bytes of SQL", i, m.Version, m.Name, len(m.SQL))
			}
		}
	}
}
