package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/sqlite"
)

func runMigrate(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("", `Create the audit tables, or bring them up to date. Postgres: in --schema, created when missing,
safe to run from many processes at once. SQLite: the file is created when missing.
--print prints the SQL instead, to apply by hand (psql -v ON_ERROR_STOP=1 -f, or the sqlite3 shell).
Postgres: --grant-writer ROLE lets an existing role add rows and read them (INSERT, SELECT: it cannot change
or delete the trail); --grant-reader ROLE lets it read (SELECT). Both apply to every table of the schema.
Postgres: --partition converts events and event_parameter_values of a database that held events before
partitions existed into time-partitioned tables, live (writers keep writing; the old rows become one partition).`)
	print := fs.Bool("print", false, "print the SQL of the migrations instead of applying them")
	writer := fs.String("grant-writer", "", "Postgres: after migrating, grant INSERT and SELECT on every audit table to this `role`")
	reader := fs.String("grant-reader", "", "Postgres: after migrating, grant SELECT on every audit table to this `role`")
	partition := fs.Bool("partition", false, "Postgres: after migrating, convert unpartitioned events tables into partitioned ones")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	if err := c.needDB(); err != nil {
		return err
	}
	if !isPostgres(c.db) && (*writer != "" || *reader != "" || *partition) {
		return usageErrorf("--grant-writer, --grant-reader and --partition need a Postgres database")
	}
	if isPostgres(c.db) {
		if *print && (*writer != "" || *reader != "" || *partition) {
			return usageErrorf("--print does not grant: run migrate --grant-writer/--grant-reader against the database")
		}
		if *print {
			sql, err := postgres.MigrationSQL(postgres.Options{Schema: c.schemaName()})
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(c.stdout, sql)
			return err
		}
		s, err := postgres.Open(ctx, c.db, postgres.Options{Schema: c.schemaName(), Now: c.now}) // applies the migrations
		if err != nil {
			return err
		}
		defer s.Close(ctx)
		if *partition {
			msg := "schema %q: events and event_parameter_values are partitioned\n"
			if err := s.Partition(ctx); errors.Is(err, postgres.ErrPartitioned) {
				msg = "schema %q: events and event_parameter_values were partitioned already\n"
			} else if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(c.stdout, msg, s.Schema()); err != nil {
				return err
			}
		}
		for _, g := range []struct {
			role   string
			access postgres.Access
		}{{*writer, postgres.AccessWriter}, {*reader, postgres.AccessReader}} {
			if g.role == "" {
				continue
			}
			if err := s.Grant(ctx, g.role, g.access); err != nil {
				return err
			}
			if _, err := fmt.Fprintf(c.stdout, "role %q is a %s of schema %q\n", g.role, g.access, s.Schema()); err != nil {
				return err
			}
		}
		ms := postgres.Migrations()
		_, err = fmt.Fprintf(c.stdout, "schema %q is at migration %d (%s)\n", s.Schema(), ms[len(ms)-1].Version, ms[len(ms)-1].Name)
		return err
	}
	if *print {
		sql, err := sqlite.MigrationSQL(sqlite.Options{})
		if err != nil {
			return err
		}
		_, err = fmt.Fprint(c.stdout, sql)
		return err
	}
	s, err := sqlite.Open(ctx, c.db, sqlite.Options{Now: c.now}) // applies the migrations
	if err != nil {
		return err
	}
	ms := sqlite.Migrations()
	if _, err := fmt.Fprintf(c.stdout, "%s is at migration %d (%s)\n", s.Path(), ms[len(ms)-1].Version, ms[len(ms)-1].Name); err != nil {
		s.Close(ctx)
		return err
	}
	return s.Close(ctx)
}
