package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/jmoiron/sqlx"
)

// Retainer is the [driver.Retainer] of a file, on its writer connection:
// each batch of deletes is one transaction, which holds the write lock from
// its start, so retention runs of several processes take turns with each
// other and with the writers.
type Retainer struct {
	DB *sqlx.DB
}

var _ driver.Retainer = Retainer{}

// DropPartitions implements [driver.Retainer]: SQLite has no partitions.
func (Retainer) DropPartitions(context.Context, time.Time, bool, *audit.RetentionReport) error {
	return nil
}

// batchSize is the most events (or sessions, or users) one transaction
// deletes: SQLite has one write lock, which every writer waits for.
const batchSize = 300

// The ids of one batch, in a temporary table of the writer connection.
const (
	createBatch = "CREATE TEMP TABLE IF NOT EXISTS retain_batch (id BLOB PRIMARY KEY) WITHOUT ROWID"
	clearBatch  = "DELETE FROM temp.retain_batch"
)

// DeleteEvents implements [driver.Retainer]: batches of [batchSize]
// events, their values first.
func (r Retainer) DeleteEvents(ctx context.Context, l audit.Level, before time.Time, dry bool, rep *audit.RetentionReport) error {
	var d Dialect
	if dry {
		var n, nv int64
		if err := r.DB.GetContext(ctx, &n, "SELECT count(*) FROM events WHERE level = ? AND event_time < ?", l.String(), d.TimeArg(before)); err != nil {
			return err
		}
		if err := r.DB.GetContext(ctx, &nv, "SELECT count(*) FROM event_parameter_values v JOIN events e ON v.event_id = e.id WHERE e.level = ? AND e.event_time < ?", l.String(), d.TimeArg(before)); err != nil {
			return err
		}
		rep.Add(driver.TableEvents, l, n)
		rep.Add(driver.TableValues, l, nv)
		return nil
	}
	pick := fmt.Sprintf("INSERT INTO temp.retain_batch SELECT id FROM events WHERE level = ? AND event_time < ? LIMIT %d", batchSize)
	for {
		var n, nv int64
		err := r.batch(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, pick, l.String(), d.TimeArg(before)); err != nil {
				return err
			}
			var err error
			if nv, err = exec(ctx, tx, "DELETE FROM event_parameter_values WHERE event_id IN (SELECT id FROM temp.retain_batch)"); err != nil {
				return err
			}
			n, err = exec(ctx, tx, "DELETE FROM events WHERE id IN (SELECT id FROM temp.retain_batch)")
			return err
		})
		if err != nil {
			return err
		}
		rep.Add(driver.TableEvents, l, n)
		rep.Add(driver.TableValues, l, nv)
		if n < batchSize {
			return nil
		}
	}
}

// batch runs f in one transaction with the batch table empty.
func (r Retainer) batch(ctx context.Context, f func(tx *sqlx.Tx) error) error {
	tx, err := r.DB.BeginTxx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, st := range []string{createBatch, clearBatch} {
		if _, err := tx.ExecContext(ctx, st); err != nil {
			return err
		}
	}
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func exec(ctx context.Context, tx *sqlx.Tx, q string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteIdle implements [driver.Retainer].
func (r Retainer) DeleteIdle(ctx context.Context, before time.Time, dry bool, rep *audit.RetentionReport) error {
	at := Dialect{}.TimeArg(before)
	idleSessions := "SELECT s.id FROM users_sessions s WHERE s.started < ? AND NOT EXISTS (SELECT 1 FROM events e WHERE e.session_id = s.id)"
	idleUsers := "SELECT u.id FROM users u WHERE u.joined < ? AND NOT EXISTS (SELECT 1 FROM events e WHERE e.user_id = u.user_key)" +
		" AND NOT EXISTS (SELECT 1 FROM users_sessions s WHERE s.user_id = u.id)"
	for _, c := range []struct {
		table, idle string
		deletes     []string
	}{
		{driver.TableSessions, idleSessions, []string{"DELETE FROM users_sessions WHERE id IN (SELECT id FROM temp.retain_batch)"}},
		// A user goes with its personal group (and, by cascade, its
		// memberships).
		{driver.TableUsers, idleUsers, []string{
			"DELETE FROM groups WHERE personal = 1 AND id IN (SELECT group_id FROM users WHERE id IN (SELECT id FROM temp.retain_batch))",
			"DELETE FROM users WHERE id IN (SELECT id FROM temp.retain_batch)",
		}},
	} {
		if dry {
			var n int64
			if err := r.DB.GetContext(ctx, &n, "SELECT count(*) FROM ("+c.idle+")", at); err != nil {
				return err
			}
			rep.Add(c.table, 0, n)
			continue
		}
		for {
			var n int64
			err := r.batch(ctx, func(tx *sqlx.Tx) error {
				if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO temp.retain_batch %s LIMIT %d", c.idle, batchSize), at); err != nil {
					return err
				}
				for _, q := range c.deletes {
					var err error
					if n, err = exec(ctx, tx, q); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			rep.Add(c.table, 0, n)
			if n < batchSize {
				break
			}
		}
	}
	return nil
}

// Reclaim implements [driver.Retainer]: PRAGMA incremental_vacuum gives the
// free pages back to the file system on a database made with
// auto_vacuum=INCREMENTAL (every file the store creates); on an older file
// it does nothing (run VACUUM once to reclaim, and to switch it over after
// PRAGMA auto_vacuum = INCREMENTAL).
// Pages go back 2,000 at a time (8 MB of 4 kB pages), each step a short
// hold of the write lock.
func (r Retainer) Reclaim(ctx context.Context) error {
	for {
		var free int
		if err := r.DB.GetContext(ctx, &free, "PRAGMA freelist_count"); err != nil || free == 0 {
			return err
		}
		var mode int
		if err := r.DB.GetContext(ctx, &mode, "PRAGMA auto_vacuum"); err != nil || mode != 2 {
			return err
		}
		if _, err := r.DB.ExecContext(ctx, "PRAGMA incremental_vacuum(2000)"); err != nil {
			return err
		}
	}
}

// IncrementalVacuum makes a database that has no tables yet give freed
// pages back at each [Retainer.Reclaim].
func IncrementalVacuum(ctx context.Context, db *sqlx.DB) error {
	if _, err := db.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		return err
	}
	var mode int
	if err := db.GetContext(ctx, &mode, "PRAGMA auto_vacuum"); err != nil || mode == 2 {
		return err
	}
	_, err := db.ExecContext(ctx, "VACUUM") // the file was initialized already: VACUUM applies the mode
	return err
}
