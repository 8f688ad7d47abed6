package cloudwatch_test

import (
	"context"
	"sync"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/cloudwatch"
	"github.com/auditkit/audit/export/cloudwatch/cloudwatchtest"
)

// TestBurstLosesNothing logs a burst of 200,000 events from 4 goroutines
// through a Logger with default options and the exporter as its sink: the
// sink's queue makes the callers wait for room as the store's does, for as
// long as batches keep being sent, so every event reaches the server and
// none is dropped.
func TestBurstLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("burst of 200k events")
	}
	if raceEnabled {
		// No drops holds while each batch is sent within BlockTimeout of
		// the previous one, which the race detector's slowdown breaks.
		// The plain go test pass (the README's command) runs it.
		t.Skip("burst of 200k events: measured without -race")
	}
	const n, goroutines = 200_000, 4
	srv := cloudwatchtest.NewServer(cloudwatchtest.Options{})
	defer srv.Close()
	x, err := cloudwatch.New(cloudwatch.Options{Blocks: []cloudwatch.Block{{LogGroup: "g"}}, Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reported []error
	l, err := audit.New(audit.Options{Sinks: []audit.Sink{x}, CloseSinks: true, ErrorHandler: func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	// A running service has its stream created: warm up once, so the
	// burst measures the queue, not the first requests.
	if err := l.Usage("warm-up", nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / goroutines {
				if err := l.Usage("burst", map[string]any{"route": "/api/items/{id}"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := l.Stats().Sinks[0]
	if st.Dropped != 0 || st.Written != n+1 || st.Failed != 0 {
		t.Errorf("sink stats %+v; reported %v", st, reported[:min(len(reported), 3)])
	}
	if got := len(srv.Events("g", "audit")); got != n+1 {
		t.Errorf("server stored %d events, want %d", got, n)
	}
}
