// Package pgerr translates errors of the Postgres driver (lib/pq) into the
// audit module's own, for every package that talks to Postgres.
package pgerr

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/auditkit/audit"
	"github.com/lib/pq"
)

// Translate turns an error of the driver into one of this module's, prefixed
// "pkg: op: ". It wraps [audit.ErrUnavailable] when the server could not be
// reached or the connection failed (worth retrying), [audit.ErrConflict] for
// a constraint violation, and marks input the server will never accept
// (data exceptions, program limits) with [audit.Permanent]. The driver's
// *pq.Error stays reachable with errors.As. A nil err is nil.
func Translate(pkg, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, audit.ErrUnavailable) || errors.Is(err, audit.ErrConflict) {
		return fmt.Errorf("%s: %s: %w", pkg, op, err)
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		code := string(pqErr.Code)
		switch {
		case len(code) < 2:
		case code[:2] == "23":
			return fmt.Errorf("%s: %s: %w: %w", pkg, op, audit.ErrConflict, err)
		case code[:2] == "08", code[:2] == "53", code == "57P01", code == "57P02", code == "57P03":
			return fmt.Errorf("%s: %s: %w: %w", pkg, op, audit.ErrUnavailable, err)
		case code[:2] == "22", code[:2] == "54":
			return audit.Permanent(fmt.Errorf("%s: %s: %w", pkg, op, err))
		}
		return fmt.Errorf("%s: %s: %w", pkg, op, err)
	}
	if IsConnError(err) {
		return fmt.Errorf("%s: %s: %w: %w", pkg, op, audit.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %s: %w", pkg, op, err)
}

// IsConnError reports whether err says the connection failed or could not
// be made.
func IsConnError(err error) bool {
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &netErr)
}
