package pgsettings

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

// ErrNoVersion is returned by [Source.Revert] for a version that does not
// exist.
var ErrNoVersion = errors.New("pgsettings: no such version")

// translate turns a driver error into one of this module's: it wraps
// [audit.ErrUnavailable] when the server could not be reached or the
// connection failed, and [audit.ErrConflict] for a constraint violation. The
// driver's *pq.Error stays reachable with errors.As.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("pgsettings: %s: %w", op, err)
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch code := string(pqErr.Code); {
		case code[:2] == "23":
			return fmt.Errorf("pgsettings: %s: %w: %w", op, audit.ErrConflict, err)
		case code[:2] == "08", code[:2] == "53", code == "57P01", code == "57P02", code == "57P03":
			return fmt.Errorf("pgsettings: %s: %w: %w", op, audit.ErrUnavailable, err)
		}
		return fmt.Errorf("pgsettings: %s: %w", op, err)
	}
	var netErr net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &netErr) {
		return fmt.Errorf("pgsettings: %s: %w: %w", op, audit.ErrUnavailable, err)
	}
	return fmt.Errorf("pgsettings: %s: %w", op, err)
}
