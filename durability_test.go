package audit_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/sqlite"
)

// burstStores opens each real store the burst tests run against.
func burstStores(t *testing.T) map[string]func(t *testing.T) audit.Store {
	return map[string]func(t *testing.T) audit.Store{
		"sqlite": func(t *testing.T) audit.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "audit.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close(context.Background()) })
			return s
		},
		"postgres": func(t *testing.T) audit.Store {
			ctx := context.Background()
			s, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{Schema: pgtest.Schema(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close(ctx) })
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

// logBurst logs n events from the given number of goroutines as fast as
// they can and returns how many calls failed.
func logBurst(l *audit.Logger, goroutines, n int) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bad := 0
			for i := range n / goroutines {
				if err := l.Usage("burst", map[string]any{"g": g, "i": i, "route": "/api/items/{id}"}); err != nil {
					bad++
				}
			}
			mu.Lock()
			failed += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	return failed
}

// TestBurstHealthyStore logs a burst of 200,000 events from 4 goroutines
// with the default options into a healthy store: the queue frees room as
// each batch is written, and a caller waiting for room waits as long as
// batches keep being delivered (BlockTimeout bounds the time without one),
// so nothing is dropped, even on a loaded machine, and everything is stored.
func TestBurstHealthyStore(t *testing.T) {
	if testing.Short() {
		t.Skip("burst of 200k events")
	}
	if raceEnabled {
		// No drops holds while each batch commits within BlockTimeout of
		// the previous one, which the race detector's slowdown breaks.
		// The plain go test pass (the README's command) runs it.
		t.Skip("burst of 200k events: measured without -race")
	}
	const n = 200_000
	for name, open := range burstStores(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			errs := &audittest.ErrorLog{}
			l, err := audit.New(audit.Options{Store: s, ErrorHandler: errs.Add})
			if err != nil {
				t.Fatal(err)
			}
			// A running service's store has its connection, the event type
			// and its params registered: warm up once with the burst's
			// params, so the burst measures the queue, not the first
			// connection and registrations.
			if err := l.Usage("warm-up", map[string]any{"g": -1, "i": -1, "route": "/api/items/{id}"}); err != nil {
				t.Fatal(err)
			}
			if err := l.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			failed := logBurst(l, 4, n)
			if err := l.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			st := l.Stats()
			if failed != 0 || st.Dropped != 0 || st.Written != n+1 || st.Failed != 0 {
				t.Errorf("%d calls failed; stats %+v; errors %v", failed, st, head(errs.Errors()))
			}
			if got := countStored(t, s); got != n+1 {
				t.Errorf("stored %d events, want %d", got, n)
			}
		})
	}
}

func head(errs []error) []error {
	return errs[:min(len(errs), 3)]
}

// countStored pages through the store and counts its events.
func countStored(t *testing.T, s audit.Store) int {
	t.Helper()
	r := s.(audit.Reader)
	q := audit.Query{Limit: audit.MaxLimit}
	n := 0
	for {
		page, err := r.Read(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Events)
		if page.Next == "" {
			return n
		}
		q.After = page.Next
	}
}
