package sqlite

import (
	"context"
	"embed"
	"fmt"
	"strings"

	"github.com/auditkit/audit/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned step of the schema, embedded in the package:
// its Version orders the migrations (audit_migrations records the applied
// ones), its Name is the file name without the version and extension, and
// its SQL creates or changes the tables.
type Migration = sqlstore.MigrationFile

// Migrations returns the embedded migrations, oldest first. [Open] applies
// them; they are here to read, or to apply by hand with the sqlite3 shell.
func Migrations() []Migration {
	ms, err := sqlstore.ReadMigrations(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded files are fixed at build time; a test reads them
	}
	return ms
}

const migrationsTable = "audit_migrations"

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS ` + migrationsTable + ` (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT`

// MigrationSQL returns a script that does to a new file what [Open] does:
// the migrations in one transaction, each recorded in audit_migrations. It
// is the documented way to apply them by hand, with the sqlite3 shell.
func MigrationSQL() string {
	var b strings.Builder
	b.WriteString("-- github.com/auditkit/audit/store/sqlite migrations\nBEGIN IMMEDIATE;\n")
	b.WriteString(createMigrationsTable + ";\n")
	for _, m := range Migrations() {
		fmt.Fprintf(&b, "\n-- %04d_%s.sql\n%s\nINSERT INTO %s (version, name) VALUES (%d, '%s');\n",
			m.Version, m.Name, strings.TrimRight(m.SQL, "\n"), migrationsTable, m.Version, strings.ReplaceAll(m.Name, "'", "''"))
	}
	b.WriteString("COMMIT;\n")
	return b.String()
}

// migrate applies the migrations the file lacks, in one transaction that
// holds the write lock from its start: processes that open a new file at
// once wait for each other, and the later ones find nothing to do.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTxx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return translate("migrate", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
		return translate("migrate", err)
	}
	var current int
	if err := tx.GetContext(ctx, &current, "SELECT coalesce(max(version), 0) FROM "+migrationsTable); err != nil {
		return translate("migrate", err)
	}
	for _, m := range Migrations() {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return translate(fmt.Sprintf("migrate: %04d_%s", m.Version, m.Name), err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+migrationsTable+" (version, name) VALUES (?, ?)", m.Version, m.Name); err != nil {
			return translate("migrate", err)
		}
	}
	return translate("migrate: commit", tx.Commit())
}
