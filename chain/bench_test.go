package chain_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/sqlite"
	"github.com/auditkit/audit/store/storetest"
)

// BenchmarkVerify measures chain.Verify over a chained trail of n events
// of the storetest.BenchEvents shape (5 params each), written in batches
// of 1000 before the timer starts: 100k and 1M events in Postgres through
// lib/pq (text rows) and through a pgx pool (binary rows), 100k in SQLite.
// It reports events/s and the peak heap in use during Verify
// (peak-heap-MB), which streaming keeps flat.
func BenchmarkVerify(b *testing.B) {
	for _, pg := range []struct {
		name string
		open func(tb testing.TB, dsn string, opts postgres.Options) *postgres.Store
	}{{"postgres", openPQ}, {"pgx", openPgx}} {
		for _, n := range []int{100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s-%dk", pg.name, n/1000), func(b *testing.B) {
				benchVerify(b, n, func(w *chain.Writer) store {
					return pg.open(b, pgtest.DSN(b), postgres.Options{Schema: pgtest.Schema(b), Chain: w})
				})
			})
		}
	}
	b.Run("sqlite-100k", func(b *testing.B) {
		benchVerify(b, 100_000, func(w *chain.Writer) store {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "a.db"), sqlite.Options{Chain: w, RelaxedSync: true})
			if err != nil {
				b.Fatal(err)
			}
			return s
		})
	})
}

func benchVerify(b *testing.B, n int, open func(*chain.Writer) store) {
	ctx := context.Background()
	w, err := chain.NewWriter(chain.Options{Key: chain.Key{HMAC: []byte("bench")}})
	if err != nil {
		b.Fatal(err)
	}
	s := open(w)
	defer s.Close(ctx)
	for lo := 0; lo < n; lo += 1000 {
		if err := s.Write(ctx, storetest.BenchEvents(1000)); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	var peak uint64
	cpu0, cpuOK := audittest.ProcessCPU()
	for range b.N {
		stop := storetest.SampleHeap()
		r, err := chain.Verify(ctx, s, chain.VerifyOptions{Key: chain.Key{HMAC: []byte("bench")}})
		peak = max(peak, stop())
		if err != nil {
			b.Fatal(err)
		}
		if !r.OK() || r.Events != n {
			b.Fatalf("report %+v, want OK and %d events", r, n)
		}
	}
	b.StopTimer()
	if cpu1, ok := audittest.ProcessCPU(); ok && cpuOK {
		b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op") // this process only, not the server's
	}
	elapsed := b.Elapsed()
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	// The anchor: one plain read, through the same driver, of the rows
	// Verify reads (every events and event_parameter_values row), with no
	// decoding beyond the driver's and no hashing.
	db, err := driver.Find(s)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for _, q := range []string{"SELECT * FROM {events} ORDER BY id", "SELECT * FROM {event_parameter_values} ORDER BY event_id, parameter_id"} {
		rows, err := db.QueryContext(ctx, db.SQL(q))
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
	}
	read := time.Since(start)
	b.ReportMetric(read.Seconds(), "plain-read-s")
	b.ReportMetric(elapsed.Seconds()/float64(b.N)/read.Seconds(), "verify/read")
}
