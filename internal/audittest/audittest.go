// Package audittest holds the test helpers the module's tests share: reading
// back every stored event, collecting the errors a component reports, and
// waiting for a condition, timing commits.
package audittest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auditkit/audit"
)

// ReadAll returns every event of r that matches q, newest first, following
// the pages to the last; it fails the test on an error.
func ReadAll(t testing.TB, r audit.Reader, q audit.Query) []audit.Event {
	t.Helper()
	var out []audit.Event
	for {
		page, err := r.Read(context.Background(), q)
		if err != nil {
			t.Fatalf("read %+v: %v", q, err)
		}
		out = append(out, page.Events...)
		if page.Next == "" {
			return out
		}
		if page.Next == q.After {
			t.Fatalf("read %+v: the next page has the same cursor", q)
		}
		q.After = page.Next
	}
}

// Stored returns every event of r, oldest first.
func Stored(t testing.TB, r audit.Reader) []audit.Event {
	t.Helper()
	evs := ReadAll(t, r, audit.Query{Limit: audit.MaxLimit})
	slices.Reverse(evs)
	return evs
}

// ErrorLog collects errors, for an error handler option. Its zero value is
// ready; it is safe for concurrent use.
type ErrorLog struct {
	mu   sync.Mutex
	errs []error
}

// Add records err.
func (l *ErrorLog) Add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

// Errors returns a copy of the errors recorded so far, in order.
func (l *ErrorLog) Errors() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

// Eventually polls cond until it holds, failing the test after 10s with
// "timed out waiting for what".
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// CommitClock wraps a store and records, for each event it writes, the time
// from the event's Time (its Log) to the return of the Write that committed
// it.
type CommitClock struct {
	audit.Store
	mu   sync.Mutex
	lats []time.Duration
}

// Write writes through the wrapped store and records the latencies of a
// batch it committed.
func (c *CommitClock) Write(ctx context.Context, events []audit.Event) error {
	err := c.Store.Write(ctx, events)
	if err != nil {
		return err
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range events {
		c.lats = append(c.lats, now.Sub(events[i].Time))
	}
	return nil
}

// Latencies returns the recorded latencies, sorted.
func (c *CommitClock) Latencies() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.lats)
	slices.Sort(out)
	return out
}
