package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/sqlite"
)

// Write stores the batch in one transaction: it is atomic, and idempotent
// on Event.ID (events already stored are left as they are and their params
// are not written again), so a batch retried after any failure stores each
// event exactly once.
//
// With Options.Chain, the transaction also writes the record of the
// digest chain of the events it inserted (see package chain).
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
	var ch *driver.ChainWriter
	if s.opts.Chain != nil {
		ch = s.opts.Chain.Driver()
		ch.Mu.Lock()
		defer ch.Mu.Unlock()
		if err := ch.Head(ctx, sqlite.Dialect{}, s.w); err != nil {
			return translate("chain", err)
		}
	}
	dg, err := sqlite.WriteBatch(ctx, s.w, rows, sessions, users, ch)
	if err != nil {
		if ch != nil {
			ch.Forget() // the commit's outcome may be unknown
		}
		return translate("write", err)
	}
	if dg != nil {
		ch.Done(ctx, dg)
	}
	s.reg.SessionsDone(sessions)
	s.reg.UsersDone(users)
	return nil
}

// RecordExpiry appends to the store's digest chain (Options.Chain) a record
// saying that the events of each level older than its cutoff are expired,
// so that [chain.Verify] takes such events, once deleted, for expired
// rather than deleted. Call it before deleting them. It is an error without
// a chain.
func (s *Store) RecordExpiry(ctx context.Context, cutoffs map[audit.Level]time.Time) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if s.opts.Chain == nil || s.w == nil {
		return fmt.Errorf("sqlite: record expiry: %w: the store has no Options.Chain, or is read-only", audit.ErrInvalidOptions)
	}
	_, err := s.opts.Chain.Driver().RecordExpiry(ctx, sqlite.Dialect{}, s.w, cutoffs)
	return translate("record expiry", err)
}
