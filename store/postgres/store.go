package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/pg"
	dsnmask "github.com/auditkit/audit/internal/dsn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Store is the Postgres store. It is safe for concurrent use.
type Store struct {
	conn   pg.Conn
	owned  *sqlx.DB // the pool Open made, closed by Close
	opts   Options
	d      pg.Dialect
	reg    *driver.Registry
	parts  partitions
	closed atomic.Bool
	// stopRetention ends the background retention runs; nil without them.
	stopRetention func()
}

var (
	_ audit.Store  = (*Store)(nil)
	_ audit.Reader = (*Store)(nil)
	_ audit.Closer = (*Store)(nil)
)

func init() {
	driver.Register(func(s *Store) driver.DB { return driver.DB{DB: s.conn.DB(), Dialect: s.d} })
}

// Open connects to the Postgres server at dsn (a URL or key=value string, as
// lib/pq takes) through lib/pq, checks the connection and, unless
// Options.NoMigrate, brings the tables up to date ([Store.Migrate]). Close
// closes the connection pool. A malformed dsn is an
// [audit.ErrInvalidOptions]; no error quotes the dsn's password. Setting up
// a connection is bounded by the DSN's connect_timeout,
// [DefaultConnectTimeout] when it has none, and by the deadline of the
// context of the call that needs it.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if _, err := pq.NewConfig(dsn); err != nil {
		return nil, fmt.Errorf("postgres: %w: malformed DSN: %s", audit.ErrInvalidOptions, dsnmask.Redact(err.Error(), dsn))
	}
	db, err := connect(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %s", dsnmask.Redact(err.Error(), dsn))
	}
	s, err := New(db, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.owned = db
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, translate("connect", err)
	}
	if !s.opts.NoMigrate {
		if err := s.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

// New returns a store on db, which must use the lib/pq driver (driver name
// "postgres"): batches are written with its COPY support. New never
// migrates (call [Store.Migrate]), and closing the store does not close db.
func New(db *sqlx.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("postgres: %w: nil db", audit.ErrInvalidOptions)
	}
	if db.DriverName() != "postgres" {
		return nil, fmt.Errorf("postgres: %w: db uses driver %q, want lib/pq (\"postgres\"); for pgx, use NewPool", audit.ErrInvalidOptions, db.DriverName())
	}
	return newStore(opts, pg.NewDialect, func(d pg.Dialect, _ string) pg.Conn { return pg.NewPQ(db, d) })
}

// NewPool returns a store on a pgx v5 pool: batches are written with pgx's
// CopyFrom, and reads go through pgx's database/sql adapter on the same
// pool. NewPool never migrates (call [Store.Migrate]), and closing the
// store does not close the pool.
func NewPool(pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("postgres: %w: nil pool", audit.ErrInvalidOptions)
	}
	return newStore(opts, pg.NewPgxDialect, func(d pg.Dialect, schema string) pg.Conn { return pg.NewPgx(pool, d, schema) })
}

func newStore(opts Options, dialect func(schema string) pg.Dialect, conn func(d pg.Dialect, schema string) pg.Conn) (*Store, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	d := dialect(opts.Schema)
	s := &Store{conn: conn(d, opts.Schema), opts: opts, d: d, reg: driver.NewRegistry(opts.SessionCache)}
	s.parts.Partitions = pg.NewPartitions(opts.Schema, opts.Partition.period())
	s.parts.known = map[time.Time]bool{}
	if opts.RetentionInterval > 0 {
		s.stopRetention = driver.Schedule(opts.RetentionInterval, func(ctx context.Context) error {
			_, err := s.retain(ctx, false, true)
			return err
		}, opts.OnRetentionError)
	}
	return s, nil
}

// DB returns the connection pool the store reads and writes through, as a
// database/sql handle, for queries of your own on the tables (see the
// package doc for how values are encoded). For a store made by [NewPool] it
// is pgx's database/sql adapter on the pool.
func (s *Store) DB() *sqlx.DB { return s.conn.DB() }

// Schema returns the schema that holds the tables.
func (s *Store) Schema() string { return s.opts.Schema }

// Close marks the store closed (Write and Read then return an error wrapping
// [audit.ErrClosed]) and, when the store was made by [Open], closes its
// connection pool. It is idempotent.
func (s *Store) Close(context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.stopRetention != nil {
		s.stopRetention()
	}
	err := s.conn.Close()
	if s.owned != nil {
		if cerr := s.owned.Close(); cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: close: %w", err)
	}
	return nil
}

func (s *Store) checkOpen() error {
	if s.closed.Load() {
		return fmt.Errorf("postgres: %w", audit.ErrClosed)
	}
	return nil
}
