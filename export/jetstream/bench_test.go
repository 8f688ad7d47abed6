package jetstream_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditkit/audit"
	auditjs "github.com/auditkit/audit/export/jetstream"
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

// BenchmarkStages measures the two halves of the JetStream path one after
// the other: 4 loggers publish b.N events to the stream with no collector
// running (publish/s, until every event is acknowledged), then one
// collector writes them all to Postgres (drain/s) in batches of
// events/write on average, with writes-busy writes under way on average,
// fetching batches of at most fetch= events. Compare with
// BenchmarkEndToEnd/direct in the same run. Run it with -benchtime=100000x.
func BenchmarkStages(b *testing.B) {
	for _, fetch := range []int{1024, auditjs.DefaultFetchSize} {
		b.Run(fmt.Sprintf("fetch=%d", fetch), func(b *testing.B) { benchStages(b, fetch) })
	}
}

func benchStages(b *testing.B, fetchSize int) {
	url := natstest.Start(b).URL()
	fl := newFlow(b, url, 1, 0, nil)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	fl.produce(b.N, 0)
	fl.closeLoggers(b)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "publish/s")
	store := &writeCounter{Store: fl.store}
	c, err := auditjs.NewCollector(context.Background(), auditjs.CollectorOptions{URL: url, Store: store,
		FetchSize: fetchSize, OnError: fl.errs.Add})
	if err != nil {
		b.Fatal(err)
	}
	fl.collectors = append(fl.collectors, c)
	ctx, cancel := context.WithCancel(context.Background())
	cancelFlow := fl.cancel
	fl.cancel = func() { cancel(); cancelFlow() }
	fl.wg.Add(1)
	start = time.Now()
	go func() { defer fl.wg.Done(); c.Run(ctx) }()
	fl.waitWritten(b)
	drain := time.Since(start)
	b.ReportMetric(float64(b.N)/drain.Seconds(), "drain/s")
	b.ReportMetric(float64(store.busy.Load())/float64(drain), "writes-busy")
	b.ReportMetric(float64(b.N)/float64(store.writes.Load()), "events/write")
	b.StopTimer()
	fl.stop(b)
}

// writeCounter counts the Writes of a store.
type writeCounter struct {
	audit.Store
	writes atomic.Int64
	busy   atomic.Int64 // nanoseconds spent in Write, summed over concurrent calls
}

func (s *writeCounter) Write(ctx context.Context, events []audit.Event) error {
	s.writes.Add(1)
	start := time.Now()
	defer func() { s.busy.Add(int64(time.Since(start))) }()
	return s.Store.Write(ctx, events)
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
