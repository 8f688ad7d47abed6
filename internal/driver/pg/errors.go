package pg

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/auditkit/audit"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"
)

// Translate turns an error of either driver into one of this module's, prefixed
// "pkg: op: ". It wraps [audit.ErrUnavailable] when the server could not be
// reached or the connection failed (worth retrying), [audit.ErrConflict] for
// a constraint violation, and marks with [audit.Permanent] input the server
// will never accept (data exceptions, program limits) and statements the role
// may not run (42501 insufficient_privilege: retrying will not grant it). The driver's
// *pq.Error or *pgconn.PgError stays reachable with errors.As. A nil err is nil.
func Translate(pkg, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, audit.ErrUnavailable) || errors.Is(err, audit.ErrConflict) {
		return fmt.Errorf("%s: %s: %w", pkg, op, err)
	}
	if code, _, ok := Code(err); ok {
		switch {
		case len(code) < 2:
		case code[:2] == "23":
			return fmt.Errorf("%s: %s: %w: %w", pkg, op, audit.ErrConflict, err)
		case code[:2] == "08", code[:2] == "53", code == "57P01", code == "57P02", code == "57P03":
			return fmt.Errorf("%s: %s: %w: %w", pkg, op, audit.ErrUnavailable, err)
		case code[:2] == "22", code[:2] == "54", code == "42501":
			return audit.Permanent(fmt.Errorf("%s: %s: %w", pkg, op, err))
		}
		return fmt.Errorf("%s: %s: %w", pkg, op, err)
	}
	if IsConnError(err) {
		return fmt.Errorf("%s: %s: %w: %w", pkg, op, audit.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %s: %w", pkg, op, err)
}

// Code returns the SQLSTATE of a server error of either driver, and the
// constraint it names.
func Code(err error) (code, constraint string, ok bool) {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return string(pqErr.Code), pqErr.Constraint, true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, pgErr.ConstraintName, true
	}
	return "", "", false
}

// IsDuplicateEvent reports whether err is the unique violation of an event
// id (events_pkey, or a key of a partition of events: events_*_pkey,
// events_*_id_key): the event was committed by someone else while the batch
// was being written.
func IsDuplicateEvent(err error) bool {
	code, constraint, _ := Code(err)
	return code == "23505" && strings.HasPrefix(constraint, "events_") &&
		(strings.HasSuffix(constraint, "_pkey") || strings.HasSuffix(constraint, "_id_key"))
}

// IsUndefined reports whether err says that a table or schema does not
// exist (the database was not migrated).
func IsUndefined(err error) bool {
	code, _, _ := Code(err)
	return code == "42P01" || code == "3F000"
}

// IsConnError reports whether err says the connection failed or could not
// be made.
func IsConnError(err error) bool {
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &netErr) || errors.As(err, new(*pgconn.ConnectError)) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		pgconn.SafeToRetry(err)
}
