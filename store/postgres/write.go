package postgres

import (
	"context"
	"fmt"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/sqlstore"
	"github.com/google/uuid"
	"github.com/lib/pq"
)

// Write stores the batch in one transaction, the events and their param
// values with COPY. It is idempotent on Event.ID: events already stored are
// skipped, so a batch retried after any failure (even a commit whose answer
// was lost) stores each event exactly once.
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
	rows, err := sqlstore.EncodeBatch(events)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := s.reg.Resolve(ctx, s.d, s.db, rows); err != nil {
		return translate("register", err)
	}
	if sessions := s.reg.NewSessions(rows); len(sessions) > 0 {
		if err := s.recordSessions(ctx, sessions); err != nil {
			return translate("record sessions", err)
		}
		s.reg.SessionsDone(sessions)
	}
	// The first attempt copies the whole batch. If some of its events are
	// stored already (a retry of a batch that was committed, or that another
	// writer commits meanwhile), COPY fails on events_pkey and the next
	// attempt leaves out the events it finds stored.
	skipStored := false
	for attempt := 1; ; attempt++ {
		err := s.writeTx(ctx, rows, skipStored)
		if err == nil || !isDuplicateEvent(err) || attempt == 3 {
			return translate("write", err)
		}
		skipStored = true
	}
}

// recordSessions upserts users_sessions rows (sorted by id, so that
// concurrent writers lock them in one order).
func (s *Store) recordSessions(ctx context.Context, sessions []sqlstore.SessionRow) error {
	for len(sessions) > 0 {
		n := min(len(sessions), sqlstore.SessionsPerStmt)
		args := make([]any, 0, n*len(sqlstore.SessionColumns))
		for i := range sessions[:n] {
			args = append(args, sessions[i].Args(s.d)...)
		}
		if _, err := s.db.ExecContext(ctx, sqlstore.SessionsUpsert(s.d, n), args...); err != nil {
			return err
		}
		sessions = sessions[n:]
	}
	return nil
}

func (s *Store) writeTx(ctx context.Context, rows []sqlstore.EventRow, skipStored bool) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if skipStored {
		ids := make([]string, len(rows))
		for i := range rows {
			ids[i] = rows[i].ID.String()
		}
		q := "SELECT id FROM " + s.d.Table(sqlstore.TableEvents) + " WHERE id = ANY($1::uuid[])"
		res, err := tx.QueryContext(ctx, q, pq.Array(ids))
		if err != nil {
			return err
		}
		stored := map[uuid.UUID]bool{}
		for res.Next() {
			var id uuid.UUID
			if err := res.Scan(&id); err != nil {
				res.Close()
				return err
			}
			stored[id] = true
		}
		if err := res.Err(); err != nil {
			return err
		}
		kept := rows[:0:0]
		for _, r := range rows {
			if !stored[r.ID] {
				kept = append(kept, r)
			}
		}
		rows = kept
		if len(rows) == 0 {
			return tx.Commit()
		}
	}

	stmt, err := tx.PrepareContext(ctx, s.copyEvents)
	if err != nil {
		return err
	}
	for i := range rows {
		if _, err := stmt.ExecContext(ctx, rows[i].Args(s.d)...); err != nil {
			stmt.Close()
			return err
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		stmt.Close()
		return err
	}
	if err := stmt.Close(); err != nil {
		return err
	}

	nvals := 0
	for i := range rows {
		nvals += len(rows[i].Values)
	}
	if nvals > 0 {
		stmt, err := tx.PrepareContext(ctx, s.copyValues)
		if err != nil {
			return err
		}
		for i := range rows {
			for j := range rows[i].Values {
				if _, err := stmt.ExecContext(ctx, rows[i].Values[j].Args(s.d, rows[i].ID)...); err != nil {
					stmt.Close()
					return err
				}
			}
		}
		if _, err := stmt.ExecContext(ctx); err != nil {
			stmt.Close()
			return err
		}
		if err := stmt.Close(); err != nil {
			return err
		}
	}
	return tx.Commit()
}
