package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/internal/dsn"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/sqlite"
	"github.com/jackc/pgx/v5/pgxpool"
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
	store, groups, err := c.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	opts.Now = c.now
	if groups != nil {
		opts.Groups = analysis.GroupMap(groups)
	}
	a, err := analysis.New(store, opts)
	if err != nil {
		store.Close(ctx)
		return nil, nil, err
	}
	return a, func() { store.Close(context.Background()) }, nil
}

// readStore is a store opened for reading.
type readStore interface {
	audit.Reader
	Close(context.Context) error
}

// openStore opens the audit database for reading (it must exist and be
// migrated), and reads the --groups file (nil when none is given).
func (c *cli) openStore(ctx context.Context) (readStore, map[string][]string, error) {
	if err := c.needDB(); err != nil {
		return nil, nil, err
	}
	groups, err := c.loadGroups()
	if err != nil {
		return nil, nil, err
	}
	var store readStore
	if isPostgres(c.db) {
		store, err = c.openPostgres(ctx)
	} else {
		store, err = c.openSQLite(ctx)
	}
	if err != nil {
		return nil, nil, err
	}
	return store, groups, nil
}

// openPostgres connects to the Postgres database, without migrating it,
// and checks that its schema is migrated.
func (c *cli) openPostgres(ctx context.Context) (*postgres.Store, error) {
	s, err := postgres.Open(ctx, c.db, postgres.Options{Schema: c.schemaName(), Now: c.now, NoMigrate: true})
	if err != nil {
		return nil, err
	}
	return checkMigrated(ctx, s)
}

// pooledStore is a store on a pgx pool that closes the pool with it.
type pooledStore struct {
	*postgres.Store
	pool *pgxpool.Pool
}

func (p pooledStore) Close(ctx context.Context) error {
	err := p.Store.Close(ctx)
	p.pool.Close()
	return err
}

// openPostgresPool is openPostgres through a pgx pool, whose binary rows
// make reading a whole trail (verify) about twice as fast as lib/pq's text
// rows. The DSN's sslmode applies, else PGSSLMODE, else "require": lib/pq's
// default, which the other commands get, rather than pgx's "prefer"; and
// the DSN's connect_timeout, else postgres.DefaultConnectTimeout.
func (c *cli) openPostgresPool(ctx context.Context) (pooledStore, error) {
	conn := c.db
	if os.Getenv("PGSSLMODE") == "" {
		conn = withSSLMode(conn, "require")
	}
	cfg, err := pgxpool.ParseConfig(conn)
	if err != nil {
		return pooledStore{}, fmt.Errorf("postgres: %w: malformed DSN: %s", audit.ErrInvalidOptions, dsn.Redact(err.Error(), c.db))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = postgres.DefaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return pooledStore{}, fmt.Errorf("postgres: open: %s", dsn.Redact(err.Error(), c.db))
	}
	s, err := postgres.NewPool(pool, postgres.Options{Schema: c.schemaName(), Now: c.now, NoMigrate: true})
	if err == nil {
		s, err = checkMigrated(ctx, s)
	}
	if err != nil {
		pool.Close()
		return pooledStore{}, err
	}
	return pooledStore{s, pool}, nil
}

// withSSLMode returns conn (a URL or key=value DSN) with sslmode=mode
// added, unless it sets an sslmode.
func withSSLMode(conn, mode string) string {
	switch {
	case strings.Contains(strings.ToLower(conn), "sslmode"):
		return conn
	case !strings.Contains(conn, "://"):
		return strings.TrimSpace(conn + " sslmode=" + mode)
	case strings.Contains(conn, "?"):
		return conn + "&sslmode=" + mode
	default:
		return conn + "?sslmode=" + mode
	}
}

// checkMigrated returns s when its schema is migrated, else closes it and
// returns the error that says so.
func checkMigrated(ctx context.Context, s *postgres.Store) (*postgres.Store, error) {
	n, err := s.Pending(ctx)
	if err == nil && n > 0 {
		err = notMigratedf("schema %q lacks %d of %d migrations: run 'auditctl migrate'", s.Schema(), n, len(postgres.Migrations()))
	} else if errors.Is(err, postgres.ErrNotMigrated) {
		err = notMigratedf("schema %q has no audit tables: run 'auditctl migrate'", s.Schema())
	}
	if err != nil {
		s.Close(ctx)
		return nil, err
	}
	return s, nil
}

// openSQLite opens the SQLite file read-only (it never takes the write lock
// nor migrates). It must exist and hold the audit tables, up to date: a file
// of something else is not turned into an audit database.
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
	s, err := sqlite.Open(ctx, c.db, sqlite.Options{Now: c.now, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	n, err := s.Pending(ctx)
	if err == nil && n > 0 {
		err = notMigratedf("%s lacks %d of %d migrations: run 'auditctl migrate'", c.db, n, len(sqlite.Migrations()))
	} else if errors.Is(err, sqlite.ErrNotMigrated) {
		err = notMigratedf("%s has no audit tables: run 'auditctl migrate' to create them", c.db)
	}
	if err != nil {
		s.Close(ctx)
		return nil, err
	}
	return s, nil
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
