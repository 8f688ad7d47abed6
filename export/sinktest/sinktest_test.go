package sinktest

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/auditkit/audit"
)

func TestMain(m *testing.M) {
	deadlineGrace = time.Second // the broken sinks need not keep the test waiting
	goleak.VerifyTestMain(m)
}

// faults are the ways the test sink can break the contract.
type faults struct {
	duplicate   bool // delivers every event twice
	keepSlice   bool // keeps the caller's slice and delivers at Flush
	ignoreCtx   bool // sends whatever the context says
	openAfter   bool // accepts Sends after Close
	silentLoss  bool // drops refused events and returns nil
	wholeRefuse bool // refuses the whole batch for one refused event
	stuck       bool // when stalled, waits for the destination whatever the context
}

// memSink is a reference sink that keeps the contract unless told a fault.
type memSink struct {
	f       faults
	mu      sync.Mutex
	held    []uuid.UUID
	pending [][]audit.Event
	closed  bool
	stalled chan struct{} // closed when the destination answers again
}

func (s *memSink) Send(ctx context.Context, events []audit.Event) error {
	s.mu.Lock()
	stalled := s.stalled
	s.mu.Unlock()
	if stalled != nil {
		if s.f.stuck {
			<-stalled
		} else {
			select {
			case <-stalled:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if !s.f.ignoreCtx {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed && !s.f.openAfter {
		return fmt.Errorf("mem: %w", audit.ErrClosed)
	}
	if s.f.keepSlice {
		s.pending = append(s.pending, events)
		return nil
	}
	lost := 0
	for _, e := range events {
		if e.Message == "refused" {
			if s.f.wholeRefuse {
				return audit.Permanent(fmt.Errorf("mem: batch refused"))
			}
			lost++
			continue
		}
		s.held = append(s.held, e.ID)
		if s.f.duplicate {
			s.held = append(s.held, e.ID)
		}
	}
	if lost > 0 && !s.f.silentLoss {
		return &audit.PartialError{Lost: lost, Err: fmt.Errorf("mem: %d refused", lost)}
	}
	return nil
}

func (s *memSink) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed && !s.f.openAfter {
		return fmt.Errorf("mem: %w", audit.ErrClosed)
	}
	for _, batch := range s.pending {
		for _, e := range batch {
			s.held = append(s.held, e.ID)
		}
	}
	s.pending = nil
	return nil
}

func (s *memSink) Close(ctx context.Context) error {
	err := s.Flush(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return err
}

func harness(f faults) Harness {
	var last *memSink
	return Harness{
		New: func(t testing.TB) (audit.Sink, Reader) {
			s := &memSink{f: f}
			last = s
			t.Cleanup(func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				if s.stalled != nil {
					close(s.stalled)
				}
			})
			return s, func(testing.TB) []uuid.UUID {
				s.mu.Lock()
				defer s.mu.Unlock()
				return append([]uuid.UUID(nil), s.held...)
			}
		},
		Refuse: func(e *audit.Event) { e.Message = "refused" },
		Stall: func() {
			last.mu.Lock()
			last.stalled = make(chan struct{})
			last.mu.Unlock()
		},
	}
}

// TestReference: a sink that keeps the contract passes every rule.
func TestReference(t *testing.T) {
	Run(t, harness(faults{}))
}

// recorder is a testing.TB whose failures are recorded rather than
// reported, so the suite's own test can see a rule fail.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msgs   []string
}

func (r *recorder) fail(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, msg)
}

func (r *recorder) Helper()                           {}
func (r *recorder) Error(args ...any)                 { r.fail(fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) { r.fail(fmt.Sprintf(format, args...)) }
func (r *recorder) Fatal(args ...any)                 { r.fail(fmt.Sprint(args...)); runtime.Goexit() }
func (r *recorder) Fatalf(format string, args ...any) {
	r.fail(fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (r *recorder) Skip(args ...any) { runtime.Goexit() }

// runRule runs one rule against h with failures recorded.
func runRule(t *testing.T, name string, h Harness) *recorder {
	t.Helper()
	for _, r := range rules {
		if r.name != name {
			continue
		}
		rec := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.fn(rec, h)
		}()
		<-done
		return rec
	}
	t.Fatalf("no rule %q", name)
	return nil
}

// TestRulesCatchFaults: each fault is caught by the rule that names it.
func TestRulesCatchFaults(t *testing.T) {
	cases := []struct {
		rule string
		f    faults
	}{
		{"Once", faults{duplicate: true}},
		{"Concurrent", faults{duplicate: true}},
		{"NotKeepSlice", faults{keepSlice: true}},
		{"Context", faults{ignoreCtx: true}},
		{"Closed", faults{openAfter: true}},
		{"PartialLoss", faults{silentLoss: true}},
		{"PartialLoss", faults{wholeRefuse: true}},
		{"Deadline", faults{stuck: true}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%+v", c.rule, c.f), func(t *testing.T) {
			rec := runRule(t, c.rule, harness(c.f))
			if !rec.failed {
				t.Errorf("rule %s passed a sink with fault %+v", c.rule, c.f)
			}
			if rec := runRule(t, c.rule, harness(faults{})); rec.failed {
				t.Errorf("rule %s failed the reference sink: %v", c.rule, rec.msgs)
			}
		})
	}
}
