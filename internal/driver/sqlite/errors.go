package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/auditkit/audit"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Translate turns an error of the driver into one of this module's: it wraps
// [audit.ErrUnavailable] when the database could not be locked within the
// busy timeout or the file could not be opened or written (worth retrying),
// [audit.ErrConflict] for a constraint violation, and marks input SQLite will
// never accept (too big) with [audit.Permanent]. The driver's *sqlite.Error
// stays reachable with errors.As. Messages start with "pkg: op: ".
func Translate(pkg, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, audit.ErrUnavailable) || errors.Is(err, audit.ErrConflict) ||
		errors.Is(err, audit.ErrInvalidCursor) {
		return fmt.Errorf("%s: %s: %w", pkg, op, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary code of an extended one
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL:
			return fmt.Errorf("%s: %s: %w: %w", pkg, op, audit.ErrUnavailable, err)
		case sqlite3.SQLITE_CONSTRAINT:
			return fmt.Errorf("%s: %s: %w: %w", pkg, op, audit.ErrConflict, err)
		case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE:
			return audit.Permanent(fmt.Errorf("%s: %s: %w", pkg, op, err))
		}
		return fmt.Errorf("%s: %s: %w", pkg, op, err)
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("%s: %s: %w: %w", pkg, op, audit.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %s: %w", pkg, op, err)
}
