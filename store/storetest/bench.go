package storetest

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
)

// BenchEvents returns n events of the shape the store benchmarks write: an
// http-request usage event with 5 params (method, ms, an object reference,
// route, status) from 20 users in 50 sessions, one microsecond apart.
func BenchEvents(n int) []audit.Event {
	out := make([]audit.Event, n)
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range out {
		out[i] = audit.Event{
			ID: uuid.Must(uuid.NewV7()), Time: now.Add(time.Duration(i) * time.Microsecond),
			Level: audit.LevelUsage, Type: audit.TypeHTTPRequest, Message: "GET /api/queries/{id}",
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

// BenchLogger measures events of the [BenchEvents] shape logged end to end:
// through an audit.Logger (its queue, batcher and retries, batches of
// batch events) into s, from 50 child loggers, until Flush returns and
// every event is committed. It reports events/s and the peak heap in use
// (peak-heap-MB, sampled every 5 ms), and fails on any drop or error.
func BenchLogger(b *testing.B, s audit.Store, batch int) {
	BenchLoggerOptions(b, audit.Options{Store: s, BatchSize: batch, MaxBatchSize: batch})
}

// BenchLoggerOptions is [BenchLogger] with the Logger's options given
// (opts.Store set); the rest are the defaults, so batches adapt to the
// backlog unless opts says otherwise.
func BenchLoggerOptions(b *testing.B, opts audit.Options) {
	ctx := context.Background()
	var failures atomic.Int64
	opts.ErrorHandler = func(error) { failures.Add(1) }
	l, err := audit.New(opts)
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
	peak := SampleHeap()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		err := loggers[i%len(loggers)].Usage("GET /api/queries/{id}", map[string]any{
			"method": "GET", "ms": 12, "query": objects[i%len(objects)], "route": "/api/queries/{id}", "status": 200,
		}, audit.TypeHTTPRequest)
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	ReportRate(b)
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
	if st := l.Stats(); st.Written != uint64(b.N) || st.Dropped != 0 || failures.Load() != 0 {
		b.Fatalf("stats %+v, %d errors", st, failures.Load())
	}
}

// ReportRate reports b.N over the elapsed time as events/s.
func ReportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// SampleHeap samples the heap in use every few milliseconds until the
// returned function is called, which returns the peak.
func SampleHeap() func() uint64 {
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

// BenchBatches times write over the events [0, b.N), called with the bounds
// [lo, hi) of each batch of at most batch events, and reports events/s. The
// store benchmarks compare their variants with it.
func BenchBatches(b *testing.B, batch int, write func(lo, hi int) error) {
	b.ReportAllocs()
	b.ResetTimer()
	for lo := 0; lo < b.N; lo += batch {
		if err := write(lo, min(lo+batch, b.N)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ReportRate(b)
}

// BenchWrite runs the write benchmarks every store shares, each on a store
// of its own from newStore: "logger" ([BenchLogger]) and "store" (the
// store's Write in batches of batch events of the [BenchEvents] shape).
func BenchWrite(b *testing.B, newStore func(b *testing.B) audit.Store, batch int) {
	b.Run("logger", func(b *testing.B) {
		BenchLogger(b, newStore(b), batch)
	})
	b.Run("logger-adaptive", func(b *testing.B) {
		BenchLoggerOptions(b, audit.Options{Store: newStore(b)})
	})
	b.Run("logger-fixed-512", func(b *testing.B) {
		BenchLogger(b, newStore(b), 512)
	})
	b.Run("store", func(b *testing.B) {
		s := newStore(b)
		events := BenchEvents(b.N)
		BenchBatches(b, batch, func(lo, hi int) error {
			return s.Write(context.Background(), events[lo:hi])
		})
	})
}
