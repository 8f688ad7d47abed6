package postgres

import (
	"errors"

	"github.com/auditkit/audit/internal/pgerr"
	"github.com/lib/pq"
)

// translate turns an error of the driver into one of this module's; see
// [pgerr.Translate].
func translate(op string, err error) error { return pgerr.Translate("postgres", op, err) }

// isDuplicateEvent reports whether err is the unique violation of an event
// id that was committed by someone else while the batch was being written.
func isDuplicateEvent(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23505" && pqErr.Constraint == "events_pkey"
}
