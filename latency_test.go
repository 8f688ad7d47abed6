package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/store/memory"
)

// BenchmarkLatency measures the time from Log to the store's commit under a
// steady load of 10,000 events per second (memory store), and reports its
// p50 and p99, for the default FlushInterval and a short one.
func BenchmarkLatency(b *testing.B) {
	for _, interval := range []time.Duration{100 * time.Millisecond, 5 * time.Millisecond} {
		b.Run("FlushInterval="+interval.String(), func(b *testing.B) {
			store := &audittest.CommitClock{Store: memory.New(memory.Options{})}
			l, err := audit.New(audit.Options{Store: store, FlushInterval: interval})
			if err != nil {
				b.Fatal(err)
			}
			const every = 100 * time.Microsecond // 10,000 events per second
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				if d := time.Until(start.Add(time.Duration(i) * every)); d > 0 {
					time.Sleep(d)
				}
				l.Log("query executed", params5, datagrok.QueryStart)
			}
			if err := l.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			lats := store.Latencies()
			if len(lats) == 0 {
				b.Fatal("nothing committed")
			}
			b.ReportMetric(float64(lats[len(lats)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds()), "p99-µs")
		})
	}
}
