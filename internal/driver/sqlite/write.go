package sqlite

import (
	"context"
	"database/sql"

	"github.com/auditkit/audit/internal/driver"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// Rows per multi-row INSERT. modernc.org/sqlite v1.59.0 (the newest that
// builds with Go 1.25) binds a statement's arguments in time quadratic in
// their number: 500 events and 2,000 values a statement cost three times
// the CPU of 16 and 64 (BENCHMARKS.md, SQLite store).
const (
	// EventsPerStmt is the most events one INSERT writes.
	EventsPerStmt = 16
	// ValuesPerStmt is the most param values one INSERT writes.
	ValuesPerStmt = 64
)

// Full-size statements, built once.
var (
	insertEvents = eventsInsert(EventsPerStmt)
	insertValues = valuesInsert(ValuesPerStmt)
)

func eventsInsert(n int) string {
	return driver.InsertValues(Dialect{}, driver.TableEvents, driver.EventColumns, n, "ON CONFLICT (id) DO NOTHING RETURNING id")
}

func valuesInsert(n int) string {
	return driver.InsertValues(Dialect{}, driver.TableValues, driver.ValueColumns, n, "")
}

// WriteBatch writes a batch in one transaction on the writer connection db
// (which takes the write lock when it begins): the new sessions and users, then the
// events with multi-row INSERTs that skip those already stored, then the
// param values of the events it inserted. With a chain writer ch (whose Mu
// the caller holds and whose head is loaded), it also inserts the digest
// record of the events it inserted (those written by the store itself left
// out), and returns it; nil when it inserted none. Errors are the driver's.
func WriteBatch(ctx context.Context, db *sqlx.DB, rows []driver.EventRow, sessions []driver.SessionRow, users []driver.UserRow, ch *driver.ChainWriter) (dg *driver.Digest, err error) {
	var d Dialect
	digestID := uuid.New()
	if ch != nil {
		for i := range rows {
			if !rows[i].Synthetic {
				rows[i].DigestID = digestID
			}
		}
	}
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if err := driver.InsertSessions(ctx, d, tx, sessions); err != nil {
		return nil, err
	}
	if err := driver.InsertUsers(ctx, d, tx, users); err != nil {
		return nil, err
	}

	// Events first: RETURNING names those that were not stored yet, and only
	// their values are written.
	var args []any
	var ids []uuid.UUID
	fresh := make([]*driver.EventRow, 0, len(rows))
	for start := 0; start < len(rows); start += EventsPerStmt {
		chunk := rows[start:min(start+EventsPerStmt, len(rows))]
		args = args[:0]
		for i := range chunk {
			args = append(args, chunk[i].Args(d)...)
		}
		q := insertEvents
		if len(chunk) != EventsPerStmt {
			q = eventsInsert(len(chunk))
		}
		var err error
		if ids, err = queryIDs(ctx, tx, q, args, ids[:0]); err != nil {
			return nil, err
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
		q := insertValues
		if n != ValuesPerStmt {
			q = valuesInsert(n)
		}
		_, err := tx.ExecContext(ctx, q, args...)
		args, n = args[:0], 0
		return err
	}
	for _, row := range fresh {
		for j := range row.Values {
			args = append(args, row.Values[j].Args(d, row.ID)...)
			if n++; n == ValuesPerStmt {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if ch != nil && len(fresh) > 0 {
		if dg = ch.SealInserted(digestID, fresh); dg.Events == 0 {
			dg = nil // only the store's own events
		} else if err := driver.InsertDigest(ctx, d, tx, dg); err != nil {
			return nil, err
		}
	}
	return dg, tx.Commit()
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
