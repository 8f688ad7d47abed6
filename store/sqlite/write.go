package sqlite

import (
	"context"
	"fmt"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/sqlite"
)

// Write stores the batch in one transaction: it is atomic, and idempotent
// on Event.ID (events already stored are left as they are and their params
// are not written again), so a batch retried after any failure stores each
// event exactly once.
//
// The transaction takes the database's write lock when it begins, waiting up
// to Options.BusyTimeout for a write of another process to finish. Event
// types and params not met before are registered first, each in its own
// short statement (see the package doc). Errors wrap [audit.ErrInvalidEvent]
// for an event that cannot be stored (the batch is refused whole),
// [audit.ErrUnavailable] when the lock could not be had in time or the file
// could not be written, and [audit.ErrConflict] for a constraint violation.
func (s *Store) Write(ctx context.Context, events []audit.Event) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	if s.w == nil {
		return audit.Permanent(fmt.Errorf("sqlite: write: %w", ErrReadOnly))
	}
	rows, err := driver.EncodeBatch(events)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	sessions, users := s.reg.NewSessions(rows), s.reg.NewUsers(rows)
	// Each new session's datagrok-started event: written once (its id is
	// the session's), so a session met again adds nothing.
	rows = append(rows, driver.StartedRows(sessions)...)
	if err := s.reg.Resolve(ctx, sqlite.Dialect{}, s.w, rows); err != nil {
		return translate("register", err)
	}
	if err := sqlite.WriteBatch(ctx, s.w, rows, sessions, users); err != nil {
		return translate("write", err)
	}
	s.reg.SessionsDone(sessions)
	s.reg.UsersDone(users)
	return nil
}
