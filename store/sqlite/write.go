package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/sqlstore"
	"github.com/google/uuid"
)

// Rows per multi-row INSERT: within SQLite's limit of 32,766 bound values
// per statement (16 per event, 7 per param value).
const (
	eventsPerStmt = 500
	valuesPerStmt = 2000
)

func eventsInsert(n int) string {
	return sqlstore.InsertValues(dialect{}, sqlstore.TableEvents, sqlstore.EventColumns, n, "ON CONFLICT (id) DO NOTHING RETURNING id")
}

func valuesInsert(n int) string {
	return sqlstore.InsertValues(dialect{}, sqlstore.TableValues, sqlstore.ValueColumns, n, "")
}

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
	rows, err := sqlstore.EncodeBatch(events)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if err := s.reg.Resolve(ctx, s.d, s.w, rows); err != nil {
		return translate("register", err)
	}
	sessions := s.reg.NewSessions(rows)
	if err := s.writeTx(ctx, rows, sessions); err != nil {
		return translate("write", err)
	}
	s.reg.SessionsDone(sessions)
	return nil
}

func (s *Store) writeTx(ctx context.Context, rows []sqlstore.EventRow, sessions []sqlstore.SessionRow) (err error) {
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	for len(sessions) > 0 {
		n := min(len(sessions), sqlstore.SessionsPerStmt)
		args := make([]any, 0, n*len(sqlstore.SessionColumns))
		for i := range sessions[:n] {
			args = append(args, sessions[i].Args(s.d)...)
		}
		if _, err := tx.ExecContext(ctx, sqlstore.SessionsUpsert(s.d, n), args...); err != nil {
			return err
		}
		sessions = sessions[n:]
	}

	// Events first: RETURNING names those that were not stored yet, and only
	// their values are written.
	var args []any
	var ids []uuid.UUID
	fresh := make([]*sqlstore.EventRow, 0, len(rows))
	for start := 0; start < len(rows); start += eventsPerStmt {
		chunk := rows[start:min(start+eventsPerStmt, len(rows))]
		args = args[:0]
		for i := range chunk {
			args = append(args, chunk[i].Args(s.d)...)
		}
		q := s.insertEvents
		if len(chunk) != eventsPerStmt {
			q = eventsInsert(len(chunk))
		}
		var err error
		if ids, err = queryIDs(ctx, tx, q, args, ids[:0]); err != nil {
			return err
		}
		if len(ids) == len(chunk) { // the usual case: none was stored
			for i := range chunk {
				fresh = append(fresh, &chunk[i])
			}
			continue
		}
		inserted := make(map[uuid.UUID]struct{}, len(ids))
		for _, id := range ids {
			inserted[id] = struct{}{}
		}
		for i := range chunk {
			if _, ok := inserted[chunk[i].ID]; ok {
				fresh = append(fresh, &chunk[i])
			}
		}
	}

	args = args[:0]
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		q := s.insertValues
		if n != valuesPerStmt {
			q = valuesInsert(n)
		}
		_, err := tx.ExecContext(ctx, q, args...)
		args, n = args[:0], 0
		return err
	}
	for _, row := range fresh {
		for j := range row.Values {
			args = append(args, row.Values[j].Args(s.d, row.ID)...)
			if n++; n == valuesPerStmt {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return tx.Commit()
}

// queryIDs runs q and appends the ids it returns to ids.
func queryIDs(ctx context.Context, tx *sql.Tx, q string, args []any, ids []uuid.UUID) ([]uuid.UUID, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
