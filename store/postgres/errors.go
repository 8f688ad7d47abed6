package postgres

import (
	"errors"

	"github.com/auditkit/audit/internal/driver/pg"
)

// translate turns an error of the driver into one of this module's.
func translate(op string, err error) error { return pg.Translate("postgres", op, err) }

// ErrNotMigrated is wrapped by [Store.Pending] when the schema has none of
// the tables.
var ErrNotMigrated = errors.New("not migrated")

// ErrPartitioned is wrapped by [Store.Partition] when the tables are
// partitioned already.
var ErrPartitioned = errors.New("partitioned already")

// ErrRetentionRunning is wrapped by [Store.Retain] when a retention run of
// another store on the same schema is under way.
var ErrRetentionRunning = errors.New("retention is running elsewhere")
