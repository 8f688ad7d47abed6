package pg

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"

	"github.com/auditkit/audit/internal/driver"
	"github.com/jmoiron/sqlx"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations, oldest first. Their SQL names
// are unqualified: they run with search_path set to the store's schema.
func Migrations() []driver.Migration {
	return driver.MustReadMigrations(migrationFiles)
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS ` + driver.MigrationsTable + ` (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// LockKey is the advisory lock that serializes migrations of one schema.
func LockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/auditkit/audit/store/postgres migrate " + schema))
	return int64(h.Sum64())
}

// Migrator returns the migrator of the tables in schema: in its transaction
// it takes the schema's advisory lock (so that processes that migrate at
// once wait for each other, and the later ones find nothing to do), creates
// the schema when missing and sets search_path to it.
func Migrator(pkg, schema string) *driver.Migrator {
	q := Quote(schema)
	return &driver.Migrator{
		Migrations:  Migrations(),
		CreateTable: createMigrationsTable,
		Dialect:     NewDialect(schema),
		Pkg:         pkg,
		Prepare: func(ctx context.Context, tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", LockKey(schema)); err != nil {
				return err
			}
			var exists bool
			if err := tx.GetContext(ctx, &exists, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema); err != nil {
				return err
			}
			if !exists {
				if _, err := tx.ExecContext(ctx, "CREATE SCHEMA "+q); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, "SET LOCAL search_path TO "+q)
			return err
		},
	}
}

// MigrationSQL returns the migrations of the tables in schema as one psql
// script, with the same lock and records as [Migrator].
func MigrationSQL(pkg, schema string) string {
	q := Quote(schema)
	begin := fmt.Sprintf("BEGIN;\nSELECT pg_advisory_xact_lock(%d);\nCREATE SCHEMA IF NOT EXISTS %s;\nSET LOCAL search_path TO %s;\n", LockKey(schema), q, q)
	return Migrator(pkg, schema).Script("github.com/auditkit/audit/store/postgres migrations for schema "+q, begin)
}

// Pending returns how many migrations the schema lacks, reading only; a
// schema without the tables gives an error for which [IsUndefined] is true.
func Pending(ctx context.Context, db sqlx.QueryerContext, schema string) (int, error) {
	return Migrator("", schema).Pending(ctx, db, Quote(schema)+"."+Quote(driver.MigrationsTable))
}
