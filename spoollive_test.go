package audit

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// tally is a store and sink that keeps every event it is given, duplicates
// included, and can hold its writes until released.
type tally struct {
	mu   sync.Mutex
	evs  []Event
	hold chan struct{} // when set, a write waits for it to close
}

func (t *tally) Write(ctx context.Context, evs []Event) error {
	if t.hold != nil {
		select {
		case <-t.hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.evs = append(t.evs, evs...)
	return nil
}

func (t *tally) Send(ctx context.Context, evs []Event) error { return t.Write(ctx, evs) }

func (t *tally) all() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.evs...)
}

// checkOnce checks that got holds the n events logged, each once and in
// order, and that each is what decoding its spool record gives.
func checkOnce(t *testing.T, who string, got []Event, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%s got %d events, want %d", who, len(got), n)
	}
	for i, e := range got {
		if e.Message != fmt.Sprint(i) {
			t.Fatalf("%s: event %d is %q: out of order or repeated", who, i, e.Message)
		}
		_, back, err := decodeSpoolRecord(appendSpoolRecord(nil, RouteStore, &e), nil)
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("%s: event %d differs from its spool record:\n got %+v\nwant %+v (%v)", who, i, e, back, err)
		}
	}
}

// TestSpoolLivePath: with a spool, destinations that keep up get the
// events from memory, not decoded back from the spool, and each event once;
// a destination that fell behind by more than its queue (the store,
// stalled) reads the rest
// from the spool, in order, each once.
func TestSpoolLivePath(t *testing.T) {
	store, sink := &tally{hold: make(chan struct{})}, &tally{}
	l, err := New(Options{Store: store, Sinks: []Sink{sink}, QueueSize: 64, SinkQueueSize: 4096, BatchSize: 8,
		FlushInterval: time.Millisecond, ErrorHandler: func(err error) { t.Log(err) },
		Spool: &SpoolOptions{Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := range n {
		if err := l.Log(fmt.Sprint(i), map[string]any{"i": i, "s": "text"}); err != nil {
			t.Fatal(err)
		}
	}
	close(store.hold) // the store was stalled: its ring of 64 overflowed
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, "store", store.all(), n)
	checkOnce(t, "sink", sink.all(), n)
	st, sk := l.c.store.decoded.Load(), l.c.sinks[0].decoded.Load()
	t.Logf("decoded from the spool: store %d, sink %d of %d", st, sk, n)
	if st < n-64-32 { // from memory: at most the ring and the batch (half the queue) held
		t.Errorf("the stalled store decoded %d events of %d from the spool: its ring cannot hold more than 64", st, n)
	}
	if sk > n/10 {
		t.Errorf("the sink, which kept up, decoded %d of %d events from the spool", sk, n)
	}
}
