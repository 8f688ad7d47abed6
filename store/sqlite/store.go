package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/sqlite"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // the "sqlite" driver: pure Go, no cgo
)

// create makes the database file, empty, with mode when it does not exist
// (SQLite takes an empty file for a new database, and gives the -wal and -shm
// files the database file's mode), and reports whether it did; an existing
// file is left as it is.
func create(path string, mode fs.FileMode) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
	switch {
	case errors.Is(err, fs.ErrExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sqlite: open: %w: %w", audit.ErrUnavailable, err)
	}
	return true, f.Close()
}

// Store is the SQLite store. It is safe for concurrent use, and other
// processes may use the same file at the same time.
type Store struct {
	path   string
	w      *sqlx.DB // one connection: every write of this process goes through it; nil when read-only
	r      *sqlx.DB // read-only connections
	opts   Options
	reg    *driver.Registry
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
	driver.Register(func(s *Store) driver.DB { return driver.DB{DB: s.r, Dialect: sqlite.Dialect{}} })
}

// Open opens the SQLite database at path, creating the file if it does not
// exist (its directory must; it is then created with Options.FileMode,
// 0600 by default, which its -wal and -shm files share), and, unless Options.NoMigrate, brings its
// tables up to date with the embedded migrations (see [Migrations]). Other
// processes may have the file open, or open it at the same moment. Close
// closes it.
//
// With Options.ReadOnly, Open neither creates the file nor migrates it, and
// never takes the write lock: Write is refused.
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
	s := &Store{path: abs, opts: opts, reg: driver.NewRegistry(opts.SessionCache)}
	p := sqlite.Params{BusyTimeout: opts.BusyTimeout, RelaxedSync: opts.RelaxedSync}
	mode := sqlite.ModeRead
	if opts.ReadOnly {
		mode = sqlite.ModeReadOnly
	} else {
		made, err := create(abs, opts.FileMode)
		if err != nil {
			return nil, err
		}
		if s.w, err = sqlite.Open(abs, sqlite.ModeWrite, p); err != nil {
			return nil, err
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		// Before any table exists: space freed by retention can then go
		// back to the file system.
		if made {
			if err := sqlite.IncrementalVacuum(ctx, s.w); err != nil {
				s.closeDBs()
				return nil, translate("open", err)
			}
		}
	}
	if s.r, err = sqlite.Open(abs, mode, p); err != nil {
		s.closeDBs()
		return nil, err
	}
	s.r.SetMaxOpenConns(opts.ReadConns)
	s.r.SetMaxIdleConns(opts.ReadConns)
	if opts.ReadOnly {
		err = translate("open", s.r.PingContext(ctx))
	} else if !opts.NoMigrate {
		err = sqlite.Migrator("sqlite").Migrate(ctx, s.w) // its errors say "sqlite: migrate: "
	}
	if err != nil {
		s.closeDBs()
		return nil, err
	}
	if opts.RetentionInterval > 0 && s.w != nil {
		s.stopRetention = driver.Schedule(opts.RetentionInterval, func(ctx context.Context) error {
			_, err := s.Retain(ctx, false)
			return err
		}, opts.OnRetentionError)
	}
	return s, nil
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// DB returns the connection pool the store reads through, for queries of
// your own on the tables (see the package doc for how values are encoded).
// Its connections are query-only: writes go through the store's one writer
// connection.
func (s *Store) DB() *sqlx.DB { return s.r }

// Close marks the store closed (Write and Read then return an error wrapping
// [audit.ErrClosed]) and closes its connections; the last connection to the
// file in any process folds the write-ahead log back into it. It is
// idempotent.
func (s *Store) Close(context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.stopRetention != nil {
		s.stopRetention()
	}
	if err := s.closeDBs(); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

func (s *Store) closeDBs() error {
	var errR, errW error
	if s.r != nil {
		errR = s.r.Close()
	}
	if s.w != nil {
		errW = s.w.Close()
	}
	return errors.Join(errR, errW)
}

func (s *Store) checkOpen() error {
	if s.closed.Load() {
		return fmt.Errorf("sqlite: %w", audit.ErrClosed)
	}
	return nil
}
