package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/pg"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// benchBatch is the batch size of the write benchmarks.
const benchBatch = 1000

// benchStore returns a migrated store through lib/pq, or through a pgx
// pool when pgx is set.
func benchStore(b *testing.B, pgx bool) *Store {
	return benchStoreOptions(b, pgx, Options{Schema: pgtest.Schema(b)})
}

// benchStoreOptions is benchStore with options.
func benchStoreOptions(b *testing.B, pgx bool, opts Options) *Store {
	b.Helper()
	ctx := context.Background()
	var s *Store
	var err error
	if pgx {
		pool, perr := pgxpool.New(ctx, pgtest.DSN(b))
		if perr != nil {
			b.Fatal(perr)
		}
		b.Cleanup(pool.Close)
		if s, err = NewPool(pool, opts); err == nil {
			err = s.Migrate(ctx)
		}
	} else {
		s, err = Open(ctx, pgtest.DSN(b), opts)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(ctx) })
	// Register the type, params and sessions, as a running service has.
	if err := s.Write(ctx, storetest.BenchEvents(50)); err != nil {
		b.Fatal(err)
	}
	return s
}

// benchStorePlain returns a store through lib/pq on unpartitioned tables:
// migrated to before version 4, given an event, then migrated on (migration 4
// keeps the tables of a database with events).
func benchStorePlain(b *testing.B) *Store {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.DSN(b), Options{Schema: pgtest.Schema(b), NoMigrate: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(ctx) })
	old := pg.Migrator("postgres", s.opts.Schema)
	for len(old.Migrations) > 0 && old.Migrations[len(old.Migrations)-1].Version >= 4 {
		old.Migrations = old.Migrations[:len(old.Migrations)-1] // the tables before partitions
	}
	if err := old.Migrate(ctx, s.DB()); err != nil {
		b.Fatal(err)
	}
	events := storetest.BenchEvents(50)
	for i := range events {
		events[i].Params = nil
	}
	if err := s.Write(ctx, events); err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if on, err := s.parts.Partitioned(ctx, s.DB()); err != nil || on {
		b.Fatalf("partitioned %v, %v", on, err)
	}
	// Register the params, as a running service has.
	if err := s.Write(ctx, storetest.BenchEvents(50)); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkWrite compares, on one database in one run, the store's Write
// through lib/pq (pq/) and through pgx (pgx/) with their ceilings (raw COPY
// of the same rows into the same tables, encoded beforehand: lib/pq's
// CopyIn, pgx's CopyFrom), with COPY through a staging table and INSERT ...
// ON CONFLICT (the other way to make COPY idempotent), and with what a naive
// library does (one autocommitted INSERT per event and per value). The
// logger variants are the end-to-end figures: events logged through an
// audit.Logger (its queue, batcher and retries) until they are committed,
// with batches of benchBatch, with the default adaptive batches and with
// fixed batches of 512; their anchors are raw-copy-one-tx and
// raw-copyfrom-one-tx, every event copied in a single transaction. The
// -chain variants write the digest chain (package chain), one signed
// record per batch, HMAC-SHA256.
func BenchmarkWrite(b *testing.B) {
	ctx := context.Background()
	for _, drv := range []struct {
		name       string
		pgx, chain bool
	}{{"pq", false, false}, {"pq-chain", false, true}, {"pgx", true, false}, {"pgx-chain", true, true}} {
		b.Run(drv.name, func(b *testing.B) {
			storetest.BenchWrite(b, func(b *testing.B) audit.Store {
				opts := Options{Schema: pgtest.Schema(b)}
				if drv.chain {
					w, err := chain.NewWriter(chain.Options{Key: chain.Key{HMAC: []byte("bench")}})
					if err != nil {
						b.Fatal(err)
					}
					opts.Chain = w
				}
				return benchStoreOptions(b, drv.pgx, opts)
			}, benchBatch)
		})
	}
	// The anchor of partitioning: the same writes into the plain tables of
	// a database that held events before migration 4.
	b.Run("pq-unpartitioned", func(b *testing.B) {
		storetest.BenchWrite(b, func(b *testing.B) audit.Store { return benchStorePlain(b) }, benchBatch)
	})
	b.Run("pgx/raw-copyfrom", func(b *testing.B) {
		s := benchStore(b, true)
		eventArgs, valueArgs := encodeForBench(b, s, storetest.BenchEvents(b.N))
		pool := s.conn.(interface{ Pool() *pgxpool.Pool }).Pool()
		storetest.BenchBatches(b, benchBatch, func(lo, hi int) error {
			return rawCopyFrom(ctx, pool, s.opts.Schema, eventArgs[lo:hi], valueArgs[lo*5:hi*5])
		})
	})
	// The anchors of the logger variants: every event copied in a single
	// transaction.
	b.Run("pgx/raw-copyfrom-one-tx", func(b *testing.B) {
		s := benchStore(b, true)
		eventArgs, valueArgs := encodeForBench(b, s, storetest.BenchEvents(b.N))
		pool := s.conn.(interface{ Pool() *pgxpool.Pool }).Pool()
		storetest.BenchBatches(b, b.N, func(lo, hi int) error {
			return rawCopyFrom(ctx, pool, s.opts.Schema, eventArgs[lo:hi], valueArgs[lo*5:hi*5])
		})
	})
	b.Run("pq/raw-copy-one-tx", func(b *testing.B) {
		s := benchStore(b, false)
		eventArgs, valueArgs := encodeForBench(b, s, storetest.BenchEvents(b.N))
		storetest.BenchBatches(b, b.N, func(lo, hi int) error {
			return rawCopy(ctx, s, eventArgs[lo:hi], valueArgs[lo*5:hi*5])
		})
	})
	b.Run("pq/raw-copy", func(b *testing.B) {
		s := benchStore(b, false)
		eventArgs, valueArgs := encodeForBench(b, s, storetest.BenchEvents(b.N))
		storetest.BenchBatches(b, benchBatch, func(lo, hi int) error {
			return rawCopy(ctx, s, eventArgs[lo:hi], valueArgs[lo*5:hi*5])
		})
	})
	b.Run("pq/copy-staging", func(b *testing.B) {
		s := benchStore(b, false)
		eventArgs, valueArgs := encodeForBench(b, s, storetest.BenchEvents(b.N))
		storetest.BenchBatches(b, benchBatch, func(lo, hi int) error {
			return stagingCopy(ctx, s, eventArgs[lo:hi], valueArgs[lo*5:hi*5])
		})
	})
	b.Run("pq/naive-insert", func(b *testing.B) {
		s := benchStore(b, false)
		eventArgs, valueArgs := encodeForBench(b, s, storetest.BenchEvents(b.N))
		insEvent := insertStmt(s.d.Table(driver.TableEvents), driver.EventColumns)
		insValue := insertStmt(s.d.Table(driver.TableValues), pg.ValueColumns)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range eventArgs {
			if _, err := s.DB().ExecContext(ctx, insEvent, eventArgs[i]...); err != nil {
				b.Fatal(err)
			}
			for _, v := range valueArgs[i*5 : i*5+5] {
				if _, err := s.DB().ExecContext(ctx, insValue, v...); err != nil {
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
	rows := make([]driver.EventRow, len(events))
	for i := range events {
		r, err := driver.EncodeEvent(&events[i])
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = r
	}
	if err := s.reg.Resolve(context.Background(), s.d, s.DB(), rows); err != nil {
		b.Fatal(err)
	}
	for i := range rows {
		eventArgs = append(eventArgs, rows[i].Args(s.d))
		for j := range rows[i].Values {
			valueArgs = append(valueArgs, append(rows[i].Values[j].Args(s.d, rows[i].ID), s.d.TimeArg(rows[i].Time)))
		}
	}
	return eventArgs, valueArgs
}

func rawCopy(ctx context.Context, s *Store, events, values [][]any) error {
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range []struct {
		stmt string
		rows [][]any
	}{{copyStmt(s.d.Table(driver.TableEvents), driver.EventColumns), events}, {copyStmt(s.d.Table(driver.TableValues), pg.ValueColumns), values}} {
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
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{driver.TableEvents, driver.EventColumns, events}, {driver.TableValues, pg.ValueColumns, values}} {
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

// rawCopyFrom copies the rows with pgx's CopyFrom in one transaction.
func rawCopyFrom(ctx context.Context, pool *pgxpool.Pool, schema string, events, values [][]any) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{schema, driver.TableEvents}, driver.EventColumns, pgx.CopyFromRows(events)); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{schema, driver.TableValues}, pg.ValueColumns, pgx.CopyFromRows(values)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func copyStmt(table string, cols []string) string {
	return "COPY " + table + " (" + strings.Join(cols, ", ") + ") FROM STDIN"
}

func insertStmt(table string, cols []string) string {
	ph := make([]string, len(cols))
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")"
}
