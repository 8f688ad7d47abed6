package postgres

import (
	"context"
	"fmt"

	"github.com/auditkit/audit/internal/driver/pg"
)

// Migration is one versioned step of the schema, embedded in the package.
type Migration struct {
	// Version orders the migrations; audit_migrations records the applied
	// ones.
	Version int
	// Name is the file name without the version and extension.
	Name string
	// SQL creates or changes the tables. Its names are unqualified: it runs
	// with search_path set to the store's schema.
	SQL string
}

// Migrations returns the embedded migrations, oldest first.
func Migrations() []Migration {
	var out []Migration
	for _, m := range pg.Migrations() {
		out = append(out, Migration{Version: m.Version, Name: m.Name, SQL: m.SQL})
	}
	return out
}

// Migrate creates the schema and the tables, or brings them up to date, in
// one transaction: every migration that audit_migrations does not record is
// applied and recorded. It is safe to call from many processes at once
// against the same database (the first takes a transaction-scoped advisory
// lock on the schema and migrates, the others wait for it and find nothing
// to do), and cheap when there is nothing to do. A schema already up to
// date is only read (SELECT on audit_migrations), so a role that may not
// create tables, such as an [AccessWriter], can Open with migration on. [Open]
// calls it unless Options.NoMigrate.
//
// It then creates the partitions of events and event_parameter_values from
// the period before now's to three periods ahead (those missing; a role
// that may not create them leaves that to the owner, and their rows to the
// DEFAULT partition meanwhile).
//
// To apply the migrations by hand instead, run the script of [MigrationSQL]
// with psql.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if n, err := pg.Pending(ctx, s.conn.DB(), s.opts.Schema); err != nil || n > 0 {
		if err := pg.Migrator("postgres", s.opts.Schema).Migrate(ctx, s.conn.DB()); err != nil {
			return err
		}
	}
	return translate("create partitions", s.createAhead(ctx))
}

// MigrationSQL returns one SQL script that does what [Store.Migrate] does on
// a database where the schema (opts.Schema) has none of the tables yet, to
// apply by hand:
//
//	psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f audit.sql
//
// The script runs in one transaction, takes the same advisory lock as
// Migrate, creates the schema if needed and records the versions in
// audit_migrations, so Migrate later finds it up to date.
func MigrationSQL(opts Options) (string, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return "", err
	}
	return pg.MigrationSQL("postgres", opts.Schema), nil
}

// Pending returns how many migrations the store's schema lacks. It only
// reads; a schema without the tables is an error wrapping
// [ErrNotMigrated].
func (s *Store) Pending(ctx context.Context) (int, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	n, err := pg.Pending(ctx, s.conn.DB(), s.opts.Schema)
	if pg.IsUndefined(err) {
		return 0, fmt.Errorf("postgres: schema %q: %w", s.opts.Schema, ErrNotMigrated)
	}
	return n, translate("pending", err)
}
