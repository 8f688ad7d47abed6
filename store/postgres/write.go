package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/pg"
)

// Write stores the batch in one transaction, the events and their param
// values with COPY. It is idempotent on Event.ID: events already stored are
// skipped, so a batch retried after any failure (even a commit whose answer
// was lost) stores each event exactly once.
//
// With Options.Chain, the transaction also writes the batch's record of
// the digest chain (see package chain), and batches are written one at a
// time.
//
// Event types, params and sessions not met before are registered first, each
// in its own short statement (see the package doc). Errors wrap
// [audit.ErrInvalidEvent] for an event that cannot be stored (the batch is
// refused whole), [audit.ErrUnavailable] when the server cannot be reached or
// the connection failed, and [audit.ErrConflict] for a constraint violation.
func (s *Store) Write(ctx context.Context, events []audit.Event) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	rows, err := driver.EncodeBatch(events)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	// Before any row: a session's datagrok-started event has the time of
	// one of the batch's events.
	if err := s.ensurePartitions(ctx, s.batchTimes(rows)); err != nil {
		return translate("create partitions", err)
	}
	if err := s.reg.Resolve(ctx, s.d, s.conn.DB(), rows); err != nil {
		return translate("register", err)
	}
	if sessions := s.reg.NewSessions(rows); len(sessions) > 0 {
		if err := driver.InsertSessions(ctx, s.d, s.conn.DB(), sessions); err != nil {
			return translate("record sessions", err)
		}
		// Each new session's datagrok-started event: written once (its id
		// is the session's), so a session met again adds nothing.
		started := driver.StartedRows(sessions)
		if err := s.reg.Resolve(ctx, s.d, s.conn.DB(), started); err != nil {
			return translate("register", err)
		}
		if err := driver.InsertEvents(ctx, s.d, s.conn.DB(), started, 500); err != nil {
			return translate("record sessions", err)
		}
		s.reg.SessionsDone(sessions)
	}
	if users := s.reg.NewUsers(rows); len(users) > 0 {
		if err := driver.InsertUsers(ctx, s.d, s.conn.DB(), users); err != nil {
			return translate("record users", err)
		}
		s.reg.UsersDone(users)
	}
	// The first attempt copies the whole batch. If some of its events are
	// stored already (a retry of a batch that was committed, or that another
	// writer commits meanwhile), COPY fails on events_pkey and the next
	// attempt leaves out the events it finds stored.
	// With a chain, each attempt's record covers exactly the events it
	// inserts.
	var ch *driver.ChainWriter
	if s.opts.Chain != nil {
		ch = s.opts.Chain.Driver()
		ch.Mu.Lock()
		defer ch.Mu.Unlock()
		if err := ch.Head(ctx, s.d, s.conn.DB()); err != nil {
			return translate("chain", err)
		}
	}
	skipStored := false
	for attempt := 1; ; attempt++ {
		dg, err := s.conn.WriteBatch(ctx, rows, skipStored, ch)
		switch {
		case err == nil && dg != nil:
			ch.Done(ctx, dg)
		case err != nil && ch != nil:
			ch.Forget() // the commit's outcome may be unknown
			if !pg.IsDuplicateEvent(err) {
				return translate("write", err)
			}
			if herr := ch.Head(ctx, s.d, s.conn.DB()); herr != nil {
				return translate("chain", herr)
			}
		}
		if err == nil || !pg.IsDuplicateEvent(err) || attempt == 3 {
			return translate("write", err)
		}
		skipStored = true
	}
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
	if s.opts.Chain == nil {
		return fmt.Errorf("postgres: record expiry: %w: the store has no Options.Chain", audit.ErrInvalidOptions)
	}
	_, err := s.opts.Chain.Driver().RecordExpiry(ctx, s.d, s.conn.DB(), cutoffs)
	return translate("record expiry", err)
}
