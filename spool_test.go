package audit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/audittest"
)

// TestSpoolOutageThenRestart logs while the store is down: no call waits or
// fails, since the spool absorbs the outage. Close gives up on the store,
// and a new Logger on the same spool delivers every event exactly once.
func TestSpoolOutageThenRestart(t *testing.T) {
	dir := t.TempDir()
	down := newRecorder()
	down.block = make(chan struct{}) // never answers
	sink := newRecorder()
	errs := &audittest.ErrorLog{}
	l, err := audit.New(audit.Options{Store: down, Sinks: []audit.Sink{sink}, QueueSize: 16, BatchSize: 4,
		FlushInterval: time.Millisecond, ErrorHandler: errs.Add, Spool: &audit.SpoolOptions{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 500 // far more than QueueSize: the spool holds them, not memory
	for i := range n {
		if err := l.Log(fmt.Sprint(i), nil); err != nil {
			t.Fatalf("Log %d during the outage: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := l.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want the deadline's error", err)
	}
	if got := len(sink.all()); got != n {
		t.Errorf("the sink, which was up, got %d events, want %d", got, n)
	}
	close(down.block)

	up := newRecorder()
	l2, err := audit.New(audit.Options{Store: up, Sinks: []audit.Sink{sink}, ErrorHandler: errs.Add, Spool: &audit.SpoolOptions{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := up.all()
	if len(got) != n {
		t.Fatalf("after the restart the store has %d events, want %d", len(got), n)
	}
	for i, e := range got {
		if e.Message != fmt.Sprint(i) {
			t.Fatalf("event %d is %q: replay out of order", i, e.Message)
		}
	}
	if s := l2.Stats(); s.Written != n || s.Failed != 0 || s.Sinks[0].Written != 0 {
		t.Errorf("stats after replay %+v: the sink had delivered everything before", s)
	}
}

// TestSpoolFailsClosed fills a small spool while the store is down: the
// call that cannot be made durable returns ErrSpool, and is counted.
func TestSpoolFailsClosed(t *testing.T) {
	down := newRecorder()
	down.block = make(chan struct{})
	defer close(down.block)
	l, errs := newLogger(t, audit.Options{Store: down, Overflow: audit.OverflowDrop,
		Spool: &audit.SpoolOptions{Dir: t.TempDir(), SegmentBytes: 4096, MaxBytes: 2 * 4096}})
	var err error
	logged := 0
	for ; logged < 10_000 && err == nil; logged++ {
		err = l.Log("fill", map[string]any{"pad": "0123456789012345678901234567890123456789"})
	}
	if !errors.Is(err, audit.ErrSpool) {
		t.Fatalf("after %d events: %v, want ErrSpool once the spool is full", logged, err)
	}
	if s := l.Stats(); s.Dropped != 1 {
		t.Errorf("stats %+v, want the refused event counted", s)
	}
	if reported, _ := droppedIn(errs.Errors(), "store"); reported != 1 {
		t.Errorf("reported %d drops, want 1", reported)
	}
}

func TestSpoolOptionsRefused(t *testing.T) {
	for _, o := range []audit.Options{
		{Store: newRecorder(), Sync: true, Spool: &audit.SpoolOptions{Dir: t.TempDir()}},
		{Store: newRecorder(), Spool: &audit.SpoolOptions{}},
		{Store: newRecorder(), Spool: &audit.SpoolOptions{Dir: t.TempDir(), Sync: 9}},
	} {
		if _, err := audit.New(o); !errors.Is(err, audit.ErrInvalidOptions) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOptions", o, err)
		}
	}
}
