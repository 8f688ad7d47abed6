package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/sqlstore"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Store is the Postgres store. It is safe for concurrent use.
type Store struct {
	db     *sqlx.DB
	owned  bool
	opts   Options
	d      dialect
	reg    *sqlstore.Registry
	closed atomic.Bool

	copyEvents, copyValues string
}

var (
	_ audit.Store  = (*Store)(nil)
	_ audit.Reader = (*Store)(nil)
	_ audit.Closer = (*Store)(nil)
)

// Open connects to the Postgres server at dsn (a URL or key=value string, as
// lib/pq takes) and returns a store on it. It checks the connection but does
// not create the tables: call [Store.Migrate] (or apply the migrations by
// hand). Close closes the connection pool. Setting up a connection is
// bounded by the DSN's connect_timeout, [DefaultConnectTimeout] when it has
// none, and by the deadline of the context of the call that needs it.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	db, err := connect(dsn)
	if err != nil {
		return nil, err
	}
	s, err := New(db, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, translate("connect", err)
	}
	s.owned = true
	return s, nil
}

// New returns a store on db, which must use the lib/pq driver (driver name
// "postgres"): batches are written with its COPY support. Closing the store
// does not close db.
func New(db *sqlx.DB, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, fmt.Errorf("postgres: %w: nil db", audit.ErrInvalidOptions)
	}
	if db.DriverName() != "postgres" {
		return nil, fmt.Errorf("postgres: %w: db uses driver %q, want lib/pq (\"postgres\")", audit.ErrInvalidOptions, db.DriverName())
	}
	d := dialect{schema: pq.QuoteIdentifier(opts.Schema)}
	s := &Store{db: db, opts: opts, d: d, reg: sqlstore.NewRegistry(opts.SessionCache)}
	s.copyEvents = copyStmt(d.Table(sqlstore.TableEvents), sqlstore.EventColumns)
	s.copyValues = copyStmt(d.Table(sqlstore.TableValues), sqlstore.ValueColumns)
	return s, nil
}

func copyStmt(table string, cols []string) string {
	return "COPY " + table + " (" + strings.Join(cols, ", ") + ") FROM STDIN"
}

// DB returns the store's connection pool.
func (s *Store) DB() *sqlx.DB { return s.db }

// Schema returns the schema that holds the tables.
func (s *Store) Schema() string { return s.opts.Schema }

// Close marks the store closed (Write and Read then return an error wrapping
// [audit.ErrClosed]) and, when the store was made by [Open], closes its
// connection pool. It is idempotent.
func (s *Store) Close(context.Context) error {
	if s.closed.Swap(true) || !s.owned {
		return nil
	}
	if err := s.db.Close(); err != nil {
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

// dialect is Postgres's side of the shared SQL.
type dialect struct{ schema string }

func (dialect) BindType() int              { return sqlx.DOLLAR }
func (d dialect) Table(name string) string { return d.schema + "." + pq.QuoteIdentifier(name) }
func (dialect) TimeArg(t time.Time) any    { return t }
func (dialect) UUIDArg(id uuid.UUID) any   { return id.String() }
