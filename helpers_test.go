package audit_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/google/uuid"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, func() error { return goleak.Find() })
}

// recorder is a Store and a Sink that keeps what it is given, in order, and
// can be told to fail. It stands in for a destination; the real stores are
// tested by store/storetest.
type recorder struct {
	mu      sync.Mutex
	events  []audit.Event
	seen    map[uuid.UUID]bool
	calls   int
	failN   int                       // fail the next failN calls with errTransient
	refuse  func(audit.Event) bool    // events refused permanently
	block   chan struct{}             // when non-nil, Write waits for it or ctx
	onWrite func(ctx context.Context) // called at the start of each write
}

var errTransient = errors.New("transient failure")

func newRecorder() *recorder { return &recorder{seen: map[uuid.UUID]bool{}} }

func (r *recorder) Write(ctx context.Context, evs []audit.Event) error {
	if r.onWrite != nil {
		r.onWrite(ctx)
	}
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failN > 0 {
		r.failN--
		return errTransient
	}
	for _, e := range evs {
		if r.refuse != nil && r.refuse(e) {
			return audit.Permanent(errors.New("refused: " + e.Message))
		}
	}
	for _, e := range evs {
		if !r.seen[e.ID] {
			r.seen[e.ID] = true
			r.events = append(r.events, e)
		}
	}
	return nil
}

func (r *recorder) Send(ctx context.Context, evs []audit.Event) error { return r.Write(ctx, evs) }

func (r *recorder) all() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]audit.Event(nil), r.events...)
}

func (r *recorder) setFail(n int) {
	r.mu.Lock()
	r.failN = n
	r.mu.Unlock()
}

// newLogger returns a Logger closed at the end of the test, with a fast
// flush interval and short retries, and errors collected in errs.
func newLogger(t *testing.T, opts audit.Options) (*audit.Logger, *audittest.ErrorLog) {
	t.Helper()
	errs := &audittest.ErrorLog{}
	if opts.ErrorHandler == nil {
		opts.ErrorHandler = errs.Add
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = 5e6
	}
	if opts.RetryMin == 0 {
		opts.RetryMin, opts.RetryMax = 1e6, 4e6
	}
	l, err := audit.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l, errs
}

func flush(t *testing.T, l *audit.Logger) {
	t.Helper()
	if err := l.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}
