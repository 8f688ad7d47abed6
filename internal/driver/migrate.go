package driver

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Migration is one versioned migration of a store, read from a file named
// NNNN_name.sql.
type Migration struct {
	// Version is NNNN, the order of the migration.
	Version int
	// Name is the rest of the file name, without the extension.
	Name string
	// SQL is the file's text.
	SQL string
}

// ReadMigrations returns the migrations in dir of fsys (the stores embed
// theirs), oldest first. A file not named NNNN_name.sql, or two files of one
// version, is an error.
func ReadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".sql")
		num, label, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || label == "" {
			return nil, fmt.Errorf("driver: bad migration file name %s", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: label, SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("driver: two migrations of version %d", out[i].Version)
		}
	}
	return out, nil
}

// MustReadMigrations is [ReadMigrations] of the embedded directory
// "migrations" of a driver: its files are fixed at build time (a test reads
// them), so an error is a bug of the build and panics.
func MustReadMigrations(fsys fs.FS) []Migration {
	ms, err := ReadMigrations(fsys, "migrations")
	if err != nil {
		panic(err)
	}
	return ms
}

// MigrationsTable is the table, in the store's schema, that records the
// applied migrations.
const MigrationsTable = "audit_migrations"

// Migrator applies a driver's migrations: one migrator for every database,
// the differences given by the driver.
type Migrator struct {
	// Migrations are the driver's migrations, oldest first.
	Migrations []Migration
	// CreateTable is the statement that creates [MigrationsTable] if
	// missing.
	CreateTable string
	// Prepare runs first in the migration's transaction: it takes the
	// lock that serializes migrators of one schema and makes the schema the
	// current one. Nil for none.
	Prepare func(ctx context.Context, tx *sqlx.Tx) error
	// Dialect is the database's dialect.
	Dialect Dialect
	// Pkg prefixes the errors.
	Pkg string
}

// Migrate applies, in one transaction, every migration not recorded in
// [MigrationsTable], recording each.
func (m *Migrator) Migrate(ctx context.Context, db *sqlx.DB) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return m.Dialect.Translate(m.Pkg, "migrate", err)
	}
	defer tx.Rollback()
	if m.Prepare != nil {
		if err := m.Prepare(ctx, tx); err != nil {
			return m.Dialect.Translate(m.Pkg, "migrate", err)
		}
	}
	if _, err := tx.ExecContext(ctx, m.CreateTable); err != nil {
		return m.Dialect.Translate(m.Pkg, "migrate", err)
	}
	var versions []int
	if err := tx.SelectContext(ctx, &versions, "SELECT version FROM "+MigrationsTable); err != nil {
		return m.Dialect.Translate(m.Pkg, "migrate", err)
	}
	insert := Rebind(m.Dialect, "INSERT INTO "+MigrationsTable+" (version, name) VALUES (?, ?)")
	for _, mg := range m.Migrations {
		if slices.Contains(versions, mg.Version) {
			continue
		}
		if _, err := tx.ExecContext(ctx, mg.SQL); err != nil {
			return m.Dialect.Translate(m.Pkg, fmt.Sprintf("migrate: %04d_%s", mg.Version, mg.Name), err)
		}
		if _, err := tx.ExecContext(ctx, insert, mg.Version, mg.Name); err != nil {
			return m.Dialect.Translate(m.Pkg, "migrate", err)
		}
	}
	return m.Dialect.Translate(m.Pkg, "migrate: commit", tx.Commit())
}

// Script returns the migrations as one SQL script that does what
// [Migrator.Migrate] does to a database that has none of them, to apply by
// hand: begin (the statements that open the transaction, take the lock and
// set the schema), CreateTable, each migration followed by the INSERT that
// records it, and COMMIT. header is its first comment line.
func (m *Migrator) Script(header, begin string) string {
	var b strings.Builder
	b.WriteString("-- " + header + "\n" + begin + m.CreateTable + ";\n")
	for _, mg := range m.Migrations {
		fmt.Fprintf(&b, "\n-- %04d_%s.sql\n%s\nINSERT INTO %s (version, name) VALUES (%d, '%s');\n",
			mg.Version, mg.Name, strings.TrimRight(mg.SQL, "\n"), MigrationsTable, mg.Version, strings.ReplaceAll(mg.Name, "'", "''"))
	}
	b.WriteString("COMMIT;\n")
	return b.String()
}

// Pending returns how many of the migrations table (the qualified name of
// [MigrationsTable]) does not record. It only reads. A missing table is the
// database's error, for the caller to tell apart.
func (m *Migrator) Pending(ctx context.Context, q sqlx.QueryerContext, table string) (int, error) {
	var versions []int
	if err := sqlx.SelectContext(ctx, q, &versions, "SELECT version FROM "+table); err != nil {
		return 0, err
	}
	n := 0
	for _, mg := range m.Migrations {
		if !slices.Contains(versions, mg.Version) {
			n++
		}
	}
	return n, nil
}
