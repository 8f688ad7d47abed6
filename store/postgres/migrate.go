package postgres

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/auditkit/audit/internal/sqlstore"
	"github.com/lib/pq"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned step of the schema, embedded in the package:
// its Version orders the migrations (audit_migrations records the applied
// ones), its Name is the file name without the version and extension, and
// its SQL creates or changes the tables. Its SQL
// names are unqualified: it runs with search_path set to the store's schema.
type Migration = sqlstore.MigrationFile

// Migrations returns the embedded migrations, oldest first.
func Migrations() []Migration {
	ms, err := sqlstore.ReadMigrations(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded files are fixed at build time; a test reads them
	}
	return ms
}

const migrationsTable = "audit_migrations"

// lockKey is the advisory lock that serializes migrations of one schema.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/auditkit/audit/store/postgres migrate " + schema))
	return int64(h.Sum64())
}

// Migrate creates the schema and the tables, or brings them up to date, in
// one transaction. It is safe to call from many processes at once against
// the same database (the first takes a transaction-scoped advisory lock on the
// schema and migrates, the others wait for it and find nothing to do), and
// cheap when there is nothing to do. The applied versions are recorded in the
// table audit_migrations of the schema.
//
// To apply the migrations by hand instead, run the script of [MigrationSQL]
// with psql, or run the files of store/postgres/migrations in order with
// search_path set to the schema and record each version in audit_migrations
// yourself.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return translate("migrate", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey(s.opts.Schema)); err != nil {
		return translate("migrate: lock", err)
	}
	var exists bool
	if err := tx.GetContext(ctx, &exists, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", s.opts.Schema); err != nil {
		return translate("migrate", err)
	}
	if !exists {
		if _, err := tx.ExecContext(ctx, "CREATE SCHEMA "+s.d.schema); err != nil {
			return translate("migrate: create schema", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "SET LOCAL search_path TO "+s.d.schema); err != nil {
		return translate("migrate", err)
	}
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
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+migrationsTable+" (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return translate("migrate", err)
		}
	}
	return translate("migrate: commit", tx.Commit())
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS ` + migrationsTable + ` (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// MigrationSQL returns one SQL script that does what [Store.Migrate] does on
// a database where the schema has none of the tables yet, to apply by hand:
//
//	psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f audit.sql
//
// The script runs in one transaction, takes the same advisory lock as
// Migrate, creates the schema if needed and records the versions in
// audit_migrations, so Migrate later finds it up to date.
func MigrationSQL(schema string) (string, error) {
	o := Options{Schema: schema}.withDefaults()
	if err := o.validate(); err != nil {
		return "", err
	}
	q := pq.QuoteIdentifier(o.Schema)
	var b strings.Builder
	fmt.Fprintf(&b, "-- github.com/auditkit/audit/store/postgres migrations for schema %s\nBEGIN;\n", q)
	fmt.Fprintf(&b, "SELECT pg_advisory_xact_lock(%d);\n", lockKey(o.Schema))
	fmt.Fprintf(&b, "CREATE SCHEMA IF NOT EXISTS %s;\nSET LOCAL search_path TO %s;\n%s;\n", q, q, createMigrationsTable)
	for _, m := range Migrations() {
		fmt.Fprintf(&b, "\n-- %04d_%s.sql\n%s\nINSERT INTO %s (version, name) VALUES (%d, %s);\n",
			m.Version, m.Name, m.SQL, migrationsTable, m.Version, pq.QuoteLiteral(m.Name))
	}
	b.WriteString("COMMIT;\n")
	return b.String(), nil
}
