package chain_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/sqlite"
	"github.com/auditkit/audit/store/storetest"
)

// BenchmarkVerify measures chain.Verify over a chained trail of n events
// of the storetest.BenchEvents shape (5 params each), written in batches
// of 1000 before the timer starts: 100k and 1M events in Postgres, 100k in
// SQLite.
// It reports events/s and the peak heap in use during Verify
// (peak-heap-MB), which streaming keeps flat.
func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("postgres-%dk", n/1000), func(b *testing.B) {
			benchVerify(b, n, func(w *chain.Writer) store {
				s, err := postgres.Open(context.Background(), pgtest.DSN(b), postgres.Options{Schema: pgtest.Schema(b), Chain: w})
				if err != nil {
					b.Fatal(err)
				}
				return s
			})
		})
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
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
