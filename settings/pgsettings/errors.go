package pgsettings

import (
	"errors"

	"github.com/auditkit/audit/internal/driver/pg"
)

// ErrNoVersion is returned by [Source.Revert] for a version that does not
// exist.
var ErrNoVersion = errors.New("pgsettings: no such version")

// translate turns a driver error into one of this module's.
func translate(op string, err error) error { return pg.Translate("pgsettings", op, err) }
