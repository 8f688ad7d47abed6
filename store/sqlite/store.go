package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/sqlstore"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // the "sqlite" driver: pure Go, no cgo
)

// Store is the SQLite store. It is safe for concurrent use, and other
// processes may use the same file at the same time.
type Store struct {
	path   string
	w      *sqlx.DB // one connection: every write of this process goes through it
	r      *sqlx.DB // read-only connections
	opts   Options
	d      dialect
	reg    *sqlstore.Registry
	closed atomic.Bool

	insertEvents, insertValues string // full-size statements (eventsPerStmt, valuesPerStmt rows)
}

var (
	_ audit.Store  = (*Store)(nil)
	_ audit.Reader = (*Store)(nil)
	_ audit.Closer = (*Store)(nil)
)

// Open opens the SQLite database at path, creating the file if it does not
// exist (its directory must), and brings its tables up to date with the
// embedded migrations (see [Migrations]). Other processes may have the file
// open, or open it at the same moment. Close closes it.
//
// The path is a file name, not a DSN: the store sets the connection
// parameters itself (WAL journal, busy timeout, foreign keys, immediate
// transactions). An in-memory database (":memory:") is refused, since the
// store's connections would each see a database of their own.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: %w: path %q is not a file name", audit.ErrInvalidOptions, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w: path %q: %w", audit.ErrInvalidOptions, path, err)
	}
	s := &Store{path: abs, opts: opts, reg: sqlstore.NewRegistry(opts.SessionCache)}
	busy := "_pragma=busy_timeout(" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) + ")"
	syncMode := "FULL"
	if opts.RelaxedSync {
		syncMode = "NORMAL"
	}
	// The writer takes the write lock when its transaction begins
	// (_txlock=immediate), so it waits for another process's write on the
	// busy timeout instead of failing when a read would turn into a write.
	s.w, err = sqlx.Open("sqlite", fileURI(abs)+"?"+busy+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous("+syncMode+")&_pragma=foreign_keys(on)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.r, err = sqlx.Open("sqlite", fileURI(abs)+"?"+busy+"&_pragma=query_only(1)")
	if err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	s.r.SetMaxOpenConns(opts.ReadConns)
	s.r.SetMaxIdleConns(opts.ReadConns)
	s.insertEvents = eventsInsert(eventsPerStmt)
	s.insertValues = valuesInsert(valuesPerStmt)
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		s.r.Close()
		return nil, err
	}
	return s, nil
}

// fileURI returns the SQLite URI of the file at the absolute path abs, with
// the characters that URIs give a meaning escaped.
func fileURI(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// DB returns the store's pool of read-only connections, for queries of your
// own on the tables (see the package doc for how values are encoded).
func (s *Store) DB() *sqlx.DB { return s.r }

// Close marks the store closed (Write and Read then return an error wrapping
// [audit.ErrClosed]) and closes its connections; the last connection to the
// file in any process folds the write-ahead log back into it. It is
// idempotent.
func (s *Store) Close(context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	errR := s.r.Close()
	errW := s.w.Close()
	if err := errors.Join(errR, errW); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

func (s *Store) checkOpen() error {
	if s.closed.Load() {
		return fmt.Errorf("sqlite: %w", audit.ErrClosed)
	}
	return nil
}

// dialect is SQLite's side of the shared SQL: ids as their 16 bytes (a
// BLOB, which SQLite orders bytewise, as [audit.CompareIDs] does), times as
// integer microseconds since the Unix epoch.
type dialect struct{}

func (dialect) BindType() int            { return sqlx.QUESTION }
func (dialect) Table(name string) string { return `"` + name + `"` }
func (dialect) TimeArg(t time.Time) any  { return t.UnixMicro() }
func (dialect) UUIDArg(id uuid.UUID) any { return id[:] }
