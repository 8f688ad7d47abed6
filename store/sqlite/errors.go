package sqlite

import (
	"errors"

	"github.com/auditkit/audit/internal/driver/sqlite"
)

// translate turns an error of the driver into one of this module's.
func translate(op string, err error) error { return sqlite.Translate("sqlite", op, err) }

// ErrNotMigrated is wrapped by [Store.Pending] when the file has none of
// the tables.
var ErrNotMigrated = errors.New("not migrated")

// ErrReadOnly is wrapped by the errors of writes to a store opened with
// Options.ReadOnly.
var ErrReadOnly = errors.New("read-only")
