package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/auditkit/audit/internal/driver/sqlite"
)

// Migration is one versioned step of the schema, embedded in the package.
type Migration struct {
	// Version orders the migrations; audit_migrations records the applied
	// ones.
	Version int
	// Name is the file name without the version and extension.
	Name string
	// SQL creates or changes the tables.
	SQL string
}

// Migrations returns the embedded migrations, oldest first. [Open] applies
// them; they are here to read, or to apply by hand with the sqlite3 shell.
func Migrations() []Migration {
	var out []Migration
	for _, m := range sqlite.Migrations() {
		out = append(out, Migration{Version: m.Version, Name: m.Name, SQL: m.SQL})
	}
	return out
}

// MigrationSQL returns a script that does to a new file what [Open] does:
// the migrations in one transaction, each recorded in audit_migrations. It
// is the documented way to apply them by hand, with the sqlite3 shell. The
// options are validated; none changes the script.
func MigrationSQL(opts Options) (string, error) {
	if err := opts.withDefaults().validate(); err != nil {
		return "", err
	}
	return sqlite.MigrationSQL("sqlite"), nil
}

// Pending returns how many migrations the file lacks. It only reads; a
// file without the tables is an error wrapping [ErrNotMigrated].
func (s *Store) Pending(ctx context.Context) (int, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	n, err := sqlite.Pending(ctx, s.r)
	if errors.Is(err, sqlite.ErrNotMigrated) {
		return 0, fmt.Errorf("sqlite: %s: %w", s.path, ErrNotMigrated)
	}
	return n, translate("pending", err)
}
