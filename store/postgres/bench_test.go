package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/internal/sqlstore"
	"github.com/auditkit/audit/store/storetest"
)

// benchBatch is the batch size of the write benchmarks.
const benchBatch = 1000

func benchStore(b *testing.B) *Store {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.DSN(b), Options{Schema: pgtest.Schema(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(ctx) })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	// Register the type, params and sessions, as a running service has.
	if err := s.Write(ctx, storetest.BenchEvents(50)); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkWrite compares, on one database in one run, the store's Write
// with the ceiling (raw COPY of the same rows into the same tables, encoded
// beforehand), with COPY through a staging table and INSERT ... ON CONFLICT
// (the other way to make COPY idempotent), and with what a naive library
// does (one autocommitted INSERT per event and per value). The logger
// variants are the end-to-end figures: events logged through an
// audit.Logger (its queue, batcher and retries) until they are committed,
// with the default adaptive batches and with fixed batches of 512; their
// anchor is raw-copy-one-tx, every event copied in a single transaction.
func BenchmarkWrite(b *testing.B) {
	ctx := context.Background()
	b.Run("logger", func(b *testing.B) {
		storetest.BenchLogger(b, benchStore(b), benchBatch)
	})
	b.Run("logger-adaptive", func(b *testing.B) {
		storetest.BenchLoggerOptions(b, audit.Options{Store: benchStore(b)})
	})
	b.Run("logger-fixed-512", func(b *testing.B) {
		storetest.BenchLogger(b, benchStore(b), 512)
	})
	b.Run("raw-copy-one-tx", func(b *testing.B) {
		s := benchStore(b)
		eventArgs, valueArgs := encodeForBench(b, s, storetest.BenchEvents(b.N))
		storetest.BenchBatches(b, b.N, func(lo, hi int) error {
			return rawCopy(ctx, s, eventArgs[lo:hi], valueArgs[lo*5:hi*5])
		})
	})
	b.Run("store", func(b *testing.B) {
		s := benchStore(b)
		events := storetest.BenchEvents(b.N)
		storetest.BenchBatches(b, benchBatch, func(lo, hi int) error {
			return s.Write(ctx, events[lo:hi])
		})
	})
	b.Run("raw-copy", func(b *testing.B) {
		s := benchStore(b)
		eventArgs, valueArgs := encodeForBench(b, s, storetest.BenchEvents(b.N))
		storetest.BenchBatches(b, benchBatch, func(lo, hi int) error {
			return rawCopy(ctx, s, eventArgs[lo:hi], valueArgs[lo*5:hi*5])
		})
	})
	b.Run("copy-staging", func(b *testing.B) {
		s := benchStore(b)
		eventArgs, valueArgs := encodeForBench(b, s, storetest.BenchEvents(b.N))
		storetest.BenchBatches(b, benchBatch, func(lo, hi int) error {
			return stagingCopy(ctx, s, eventArgs[lo:hi], valueArgs[lo*5:hi*5])
		})
	})
	b.Run("naive-insert", func(b *testing.B) {
		s := benchStore(b)
		eventArgs, valueArgs := encodeForBench(b, s, storetest.BenchEvents(b.N))
		insEvent := insertStmt(s.d.Table(sqlstore.TableEvents), sqlstore.EventColumns)
		insValue := insertStmt(s.d.Table(sqlstore.TableValues), sqlstore.ValueColumns)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range eventArgs {
			if _, err := s.db.ExecContext(ctx, insEvent, eventArgs[i]...); err != nil {
				b.Fatal(err)
			}
			for _, v := range valueArgs[i*5 : i*5+5] {
				if _, err := s.db.ExecContext(ctx, insValue, v...); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StopTimer()
		storetest.ReportRate(b)
	})
}

// encodeForBench maps events to the COPY arguments of their rows, with the
// registry resolved, outside the timed part.
func encodeForBench(b *testing.B, s *Store, events []audit.Event) (eventArgs, valueArgs [][]any) {
	rows := make([]sqlstore.EventRow, len(events))
	for i := range events {
		r, err := sqlstore.EncodeEvent(&events[i])
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = r
	}
	if err := s.reg.Resolve(context.Background(), s.d, s.db, rows); err != nil {
		b.Fatal(err)
	}
	for i := range rows {
		eventArgs = append(eventArgs, rows[i].Args(s.d))
		for j := range rows[i].Values {
			valueArgs = append(valueArgs, rows[i].Values[j].Args(s.d, rows[i].ID))
		}
	}
	return eventArgs, valueArgs
}

func rawCopy(ctx context.Context, s *Store, events, values [][]any) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range []struct {
		stmt string
		rows [][]any
	}{{s.copyEvents, events}, {s.copyValues, values}} {
		st, err := tx.PrepareContext(ctx, c.stmt)
		if err != nil {
			return err
		}
		for _, r := range c.rows {
			if _, err := st.ExecContext(ctx, r...); err != nil {
				return err
			}
		}
		if _, err := st.ExecContext(ctx); err != nil {
			return err
		}
		if err := st.Close(); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// stagingCopy copies into temporary tables and moves the rows with INSERT
// ... SELECT ... ON CONFLICT DO NOTHING, in one transaction.
func stagingCopy(ctx context.Context, s *Store, events, values [][]any) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{sqlstore.TableEvents, sqlstore.EventColumns, events}, {sqlstore.TableValues, sqlstore.ValueColumns, values}} {
		stage := "stage_" + c.table
		if _, err := tx.ExecContext(ctx, "CREATE TEMP TABLE "+stage+" (LIKE "+s.d.Table(c.table)+") ON COMMIT DROP"); err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, copyStmt(stage, c.cols))
		if err != nil {
			return err
		}
		for _, r := range c.rows {
			if _, err := st.ExecContext(ctx, r...); err != nil {
				return err
			}
		}
		if _, err := st.ExecContext(ctx); err != nil {
			return err
		}
		if err := st.Close(); err != nil {
			return err
		}
		cols := strings.Join(c.cols, ", ")
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+s.d.Table(c.table)+" ("+cols+") SELECT "+cols+" FROM "+stage+" ON CONFLICT DO NOTHING"); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func insertStmt(table string, cols []string) string {
	ph := make([]string, len(cols))
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")"
}
