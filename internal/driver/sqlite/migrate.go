package sqlite

import (
	"context"
	"embed"
	"errors"

	"github.com/auditkit/audit/internal/driver"
	"github.com/jmoiron/sqlx"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations, oldest first.
func Migrations() []driver.Migration {
	return driver.MustReadMigrations(migrationFiles)
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS ` + driver.MigrationsTable + ` (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT`

// Migrator returns the migrator of a file. Run it on the writer connection
// (ModeWrite): its transaction holds the write lock from its start, so
// processes that open a new file at once wait for each other, and the later
// ones find nothing to do.
func Migrator(pkg string) *driver.Migrator {
	return &driver.Migrator{Migrations: Migrations(), CreateTable: createMigrationsTable, Dialect: Dialect{}, Pkg: pkg}
}

// MigrationSQL returns the migrations as one script for the sqlite3 shell.
func MigrationSQL(pkg string) string {
	return Migrator(pkg).Script("github.com/auditkit/audit/store/sqlite migrations", "BEGIN IMMEDIATE;\n")
}

// ErrNotMigrated is returned by [Pending] for a file without the audit
// tables.
var ErrNotMigrated = errors.New("no audit tables")

// Pending returns how many migrations the file lacks, reading only. A file
// without the tables gives [ErrNotMigrated].
func Pending(ctx context.Context, db sqlx.QueryerContext) (int, error) {
	var n int
	if err := sqlx.GetContext(ctx, db, &n, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", driver.MigrationsTable); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, ErrNotMigrated
	}
	return Migrator("").Pending(ctx, db, driver.MigrationsTable)
}
