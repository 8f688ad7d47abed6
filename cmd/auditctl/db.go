package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/internal/dsn"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/sqlite"
	"github.com/lib/pq"
)

// isPostgres reports whether the --db value is a Postgres URL or DSN rather
// than a SQLite file path.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") ||
		strings.Contains(db, "host=") || strings.Contains(db, "dbname=")
}

// needDB checks that --db is set, and that a Postgres DSN is well formed:
// a malformed one is a usage error, whose message masks the password.
func (c *cli) needDB() error {
	if c.db == "" {
		return usageErrorf("no database: set --db (a SQLite file or a Postgres DSN) or $%s", envDB)
	}
	if isPostgres(c.db) {
		if _, err := pq.NewConfig(c.db); err != nil {
			return usageErrorf("--db: malformed Postgres DSN %s: %s", dsn.Mask(c.db), dsn.Redact(err.Error(), c.db))
		}
	}
	return nil
}

func (c *cli) schemaName() string {
	if c.schema == "" {
		return "public"
	}
	return c.schema
}

// openAnalyzer opens the audit database for reading and returns an
// Analyzer of it, and a function that closes it. The database must exist
// and be migrated.
func (c *cli) openAnalyzer(ctx context.Context, opts analysis.Options) (*analysis.Analyzer, func(), error) {
	if err := c.needDB(); err != nil {
		return nil, nil, err
	}
	opts.Now = c.now
	groups, err := c.loadGroups()
	if err != nil {
		return nil, nil, err
	}
	if groups != nil {
		opts.Groups = analysis.GroupMap(groups)
	}
	if isPostgres(c.db) {
		s, err := c.openPostgres(ctx)
		if err != nil {
			return nil, nil, err
		}
		a, err := analysis.ForPostgres(s, opts)
		if err != nil {
			s.Close(ctx)
			return nil, nil, err
		}
		return a, func() { s.Close(context.Background()) }, nil
	}
	s, err := c.openSQLite(ctx)
	if err != nil {
		return nil, nil, err
	}
	a, err := analysis.ForSQLite(s, opts)
	if err != nil {
		s.Close(ctx)
		return nil, nil, err
	}
	return a, func() { s.Close(context.Background()) }, nil
}

// openPostgres connects to the Postgres database and checks that its
// schema is migrated.
func (c *cli) openPostgres(ctx context.Context) (*postgres.Store, error) {
	s, err := postgres.Open(ctx, c.db, postgres.Options{Schema: c.schemaName(), Now: c.now})
	if err != nil {
		return nil, err
	}
	var version int
	err = s.DB().GetContext(ctx, &version, "SELECT coalesce(max(version), 0) FROM "+pq.QuoteIdentifier(s.Schema())+".audit_migrations")
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && (pqErr.Code == "42P01" || pqErr.Code == "3F000") { // undefined table, schema
		s.Close(ctx)
		return nil, notMigratedf("schema %q has no audit tables: run 'auditctl migrate'", s.Schema())
	}
	if err != nil {
		s.Close(ctx)
		return nil, fmt.Errorf("postgres: read migrations: %w", err)
	}
	if want := len(postgres.Migrations()); version < want {
		s.Close(ctx)
		return nil, notMigratedf("schema %q is at migration %d of %d: run 'auditctl migrate'", s.Schema(), version, want)
	}
	return s, nil
}

// openSQLite opens the SQLite file, which must exist and hold the audit
// tables: a file of something else is not turned into an audit database.
func (c *cli) openSQLite(ctx context.Context) (*sqlite.Store, error) {
	fi, err := os.Stat(c.db)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("database file %s does not exist (create it with 'auditctl migrate', or give a Postgres DSN)", c.db)
		}
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("database %s is a directory, not a SQLite file", c.db)
	}
	if err := checkSQLiteMigrated(ctx, c.db); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, c.db, sqlite.Options{Now: c.now})
}

// checkSQLiteMigrated checks, read-only, that the file at path has the
// audit tables.
func checkSQLiteMigrated(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p) + "?mode=ro"
	db, err := sql.Open("sqlite", uri) // the driver store/sqlite registers
	if err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'audit_migrations'").Scan(&n)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if n == 0 {
		return notMigratedf("%s has no audit tables: run 'auditctl migrate' to create them", path)
	}
	return nil
}

// loadGroups reads the --groups file: nil when none is given.
func (c *cli) loadGroups() (map[string][]string, error) {
	if c.groupsFile == "" {
		return nil, nil
	}
	data, err := os.ReadFile(c.groupsFile)
	if err != nil {
		return nil, usageErrorf("--groups: %v", err)
	}
	var m map[string][]string
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, usageErrorf("--groups %s: want a JSON object of users to lists of groups: %v", c.groupsFile, err)
	}
	return m, nil
}
