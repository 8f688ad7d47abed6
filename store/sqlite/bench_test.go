package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/sqlite"
	"github.com/auditkit/audit/store/storetest"
)

// benchBatch is the batch size of the write benchmarks.
const benchBatch = 1000

// benchStore returns a store on a new file, with the event type, params and
// sessions registered, as a running service has them.
func benchStore(b *testing.B) *Store {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(ctx) })
	if err := s.Write(ctx, storetest.BenchEvents(50)); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkWrite compares, on one machine in one run, each variant on a
// fresh file of its own: events logged through an audit.Logger until they
// are committed (end to end), the store's Write, the ceiling (a raw batched
// multi-row INSERT of the same rows, encoded beforehand, into the same
// tables), and the other plain way to batch (one prepared single-row INSERT
// per row, in one transaction per batch).
func BenchmarkWrite(b *testing.B) {
	ctx := context.Background()
	storetest.BenchWrite(b, func(b *testing.B) audit.Store { return benchStore(b) }, benchBatch)
	b.Run("raw-insert", func(b *testing.B) {
		s := benchStore(b)
		eventArgs, valueArgs := encodeForBench(b, s, storetest.BenchEvents(b.N))
		storetest.BenchBatches(b, benchBatch, func(lo, hi int) error {
			return rawInsert(ctx, s, eventArgs[lo:hi], valueArgs[lo*5:hi*5])
		})
	})
	b.Run("row-insert", func(b *testing.B) {
		s := benchStore(b)
		eventArgs, valueArgs := encodeForBench(b, s, storetest.BenchEvents(b.N))
		storetest.BenchBatches(b, benchBatch, func(lo, hi int) error {
			return rowInsert(ctx, s, eventArgs[lo:hi], valueArgs[lo*5:hi*5])
		})
	})
}

// encodeForBench maps events to the arguments of their rows, with the
// registry resolved, outside the timed part.
func encodeForBench(b *testing.B, s *Store, events []audit.Event) (eventArgs, valueArgs [][]any) {
	rows := make([]driver.EventRow, len(events))
	for i := range events {
		r, err := driver.EncodeEvent(&events[i])
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = r
	}
	if err := s.reg.Resolve(context.Background(), sqlite.Dialect{}, s.w, rows); err != nil {
		b.Fatal(err)
	}
	for i := range rows {
		eventArgs = append(eventArgs, rows[i].Args(sqlite.Dialect{}))
		for j := range rows[i].Values {
			valueArgs = append(valueArgs, rows[i].Values[j].Args(sqlite.Dialect{}, rows[i].ID))
		}
	}
	return eventArgs, valueArgs
}

// rawInsert writes the rows with plain multi-row INSERTs, as many rows per
// statement as the store puts, in one transaction.
func rawInsert(ctx context.Context, s *Store, events, values [][]any) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
		per   int
	}{{driver.TableEvents, driver.EventColumns, events, sqlite.EventsPerStmt}, {driver.TableValues, driver.ValueColumns, values, sqlite.ValuesPerStmt}} {
		for start := 0; start < len(c.rows); start += c.per {
			chunk := c.rows[start:min(start+c.per, len(c.rows))]
			args := make([]any, 0, len(chunk)*len(c.cols))
			for _, r := range chunk {
				args = append(args, r...)
			}
			if _, err := tx.ExecContext(ctx, driver.InsertValues(sqlite.Dialect{}, c.table, c.cols, len(chunk), ""), args...); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// rowInsert writes the rows with one prepared single-row INSERT per row, in
// one transaction.
func rowInsert(ctx context.Context, s *Store, events, values [][]any) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{driver.TableEvents, driver.EventColumns, events}, {driver.TableValues, driver.ValueColumns, values}} {
		st, err := tx.PrepareContext(ctx, driver.InsertValues(sqlite.Dialect{}, c.table, c.cols, 1, ""))
		if err != nil {
			return err
		}
		if err := execEach(ctx, st, c.rows); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func execEach(ctx context.Context, st *sql.Stmt, rows [][]any) error {
	defer st.Close()
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, r...); err != nil {
			return err
		}
	}
	return nil
}
