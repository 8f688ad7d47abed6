package jetstream_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/internal/natstest"
)

// BenchmarkEndToEnd logs b.N events from 4 loggers until they are rows in
// Postgres: written directly by the loggers, and through a JetStream server
// and one or two collectors. events/s is b.N over the time from the first
// Log to the last row committed. Run it with -benchtime=100000x.
func BenchmarkEndToEnd(b *testing.B) {
	for _, v := range []struct {
		name       string
		collectors int
	}{{"direct", 0}, {"jetstream/collectors=1", 1}, {"jetstream/collectors=2", 2}} {
		b.Run(v.name, func(b *testing.B) {
			fl := benchFlow(b, v.collectors, nil)
			b.ReportAllocs()
			b.ResetTimer()
			fl.produce(b.N, 0)
			fl.closeLoggers(b)
			fl.waitWritten(b)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			fl.stop(b)
		})
	}
}

// BenchmarkLatency logs b.N events at 10,000 and at 2,000 a second and
// reports the time from each Log to the commit of its row: p50 and p99.
// Run it with -benchtime=20000x.
func BenchmarkLatency(b *testing.B) {
	for _, rate := range []int{10_000, 2_000} {
		for _, v := range []struct {
			name       string
			collectors int
		}{{"direct", 0}, {"jetstream", 1}} {
			b.Run(fmt.Sprintf("rate=%d/%s", rate, v.name), func(b *testing.B) {
				clock := &audittest.CommitClock{}
				fl := benchFlow(b, v.collectors, clock)
				clock.Store = fl.store
				b.ResetTimer()
				fl.produce(b.N, rate)
				fl.closeLoggers(b)
				fl.waitWritten(b)
				b.StopTimer()
				fl.stop(b)
				lat := clock.Latencies()
				if len(lat) < b.N {
					b.Fatalf("%d of %d events timed", len(lat), b.N)
				}
				b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
			})
		}
	}
}

// benchFlow is a flow writing to store (nil: Postgres); with collectors, through
// a JetStream server of its own.
func benchFlow(b *testing.B, collectors int, store audit.Store) *flow {
	url := ""
	if collectors > 0 {
		url = natstest.Start(b).URL()
	}
	return newFlow(b, url, 1, collectors, store)
}

// waitWritten waits until the collectors wrote every event.
func (fl *flow) waitWritten(tb testing.TB) {
	deadline := time.Now().Add(2 * time.Minute)
	for len(fl.collectors) > 0 && fl.written() < int64(fl.events) {
		if time.Now().After(deadline) {
			tb.Fatalf("the collectors wrote %d of %d events", fl.written(), fl.events)
		}
		time.Sleep(time.Millisecond)
	}
}
