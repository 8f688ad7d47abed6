package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/sqlstore"
	"github.com/google/uuid"
)

// benchBatch is the batch size of the write benchmarks.
const benchBatch = 1000

// benchEvents makes n events of 5 params each, as a service logs them.
func benchEvents(n int) []audit.Event {
	out := make([]audit.Event, n)
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range out {
		out[i] = audit.Event{
			ID: uuid.Must(uuid.NewV7()), Time: now.Add(time.Duration(i) * time.Microsecond),
			Level: audit.LevelUsage, Type: audit.HTTPRequest, Message: "GET /api/queries/{id}",
			SessionID: fmt.Sprintf("session-%d", i%50), UserID: fmt.Sprintf("user-%d", i%20),
			Duration: 12 * time.Millisecond,
			Params: []audit.Param{
				audit.P("method", "GET"),
				audit.P("ms", 12),
				audit.P("query", audit.Ref("query", uuid.NewString())),
				audit.P("route", "/api/queries/{id}"),
				audit.P("status", 200),
			},
		}
	}
	return out
}

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
	if err := s.Write(ctx, benchEvents(50)); err != nil {
		b.Fatal(err)
	}
	return s
}

// sampleHeap samples the heap in use every few milliseconds until the
// returned function is called, which returns the peak.
func sampleHeap() func() uint64 {
	stop := make(chan struct{})
	done := make(chan uint64)
	go func() {
		var peak uint64
		var m runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		return <-done
	}
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkWrite compares, on one machine in one run, each variant on a
// fresh file of its own: events logged through an audit.Logger until they
// are committed (end to end), the store's Write, the ceiling (a raw batched
// multi-row INSERT of the same rows, encoded beforehand, into the same
// tables), and the other plain way to batch (one prepared single-row INSERT
// per row, in one transaction per batch).
func BenchmarkWrite(b *testing.B) {
	ctx := context.Background()
	b.Run("logger", func(b *testing.B) {
		s := benchStore(b)
		var failures atomic.Int64
		l, err := audit.New(audit.Options{
			Store:        s,
			BatchSize:    benchBatch,
			ErrorHandler: func(error) { failures.Add(1) },
		})
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close(ctx)
		loggers := make([]*audit.Logger, 50)
		for i := range loggers {
			loggers[i] = l.WithUser(fmt.Sprintf("user-%d", i%20)).WithSession(fmt.Sprintf("session-%d", i))
		}
		objects := make([]audit.Entity, 1000)
		for i := range objects {
			objects[i] = audit.Ref("query", uuid.NewString())
		}
		peak := sampleHeap()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			err := loggers[i%len(loggers)].Usage("GET /api/queries/{id}", map[string]any{
				"method": "GET", "ms": 12, "query": objects[i%len(objects)], "route": "/api/queries/{id}", "status": 200,
			}, audit.HTTPRequest)
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := l.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		reportRate(b)
		b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
		if st := l.Stats(); st.Written != uint64(b.N) || st.Dropped != 0 || failures.Load() != 0 {
			b.Fatalf("stats %+v, %d errors", st, failures.Load())
		}
	})
	b.Run("store", func(b *testing.B) {
		s := benchStore(b)
		events := benchEvents(b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i += benchBatch {
			if err := s.Write(ctx, events[i:min(i+benchBatch, b.N)]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportRate(b)
	})
	b.Run("raw-insert", func(b *testing.B) {
		s := benchStore(b)
		eventArgs, valueArgs := encodeForBench(b, s, benchEvents(b.N))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i += benchBatch {
			if err := rawInsert(ctx, s, eventArgs[i:min(i+benchBatch, b.N)], valueArgs[i*5:min(i+benchBatch, b.N)*5]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportRate(b)
	})
	b.Run("row-insert", func(b *testing.B) {
		s := benchStore(b)
		eventArgs, valueArgs := encodeForBench(b, s, benchEvents(b.N))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i += benchBatch {
			if err := rowInsert(ctx, s, eventArgs[i:min(i+benchBatch, b.N)], valueArgs[i*5:min(i+benchBatch, b.N)*5]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportRate(b)
	})
}

// encodeForBench maps events to the arguments of their rows, with the
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
	if err := s.reg.Resolve(context.Background(), s.d, s.w, rows); err != nil {
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
	}{{sqlstore.TableEvents, sqlstore.EventColumns, events, eventsPerStmt}, {sqlstore.TableValues, sqlstore.ValueColumns, values, valuesPerStmt}} {
		for start := 0; start < len(c.rows); start += c.per {
			chunk := c.rows[start:min(start+c.per, len(c.rows))]
			args := make([]any, 0, len(chunk)*len(c.cols))
			for _, r := range chunk {
				args = append(args, r...)
			}
			if _, err := tx.ExecContext(ctx, sqlstore.InsertValues(s.d, c.table, c.cols, len(chunk), ""), args...); err != nil {
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
	}{{sqlstore.TableEvents, sqlstore.EventColumns, events}, {sqlstore.TableValues, sqlstore.ValueColumns, values}} {
		st, err := tx.PrepareContext(ctx, sqlstore.InsertValues(s.d, c.table, c.cols, 1, ""))
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
