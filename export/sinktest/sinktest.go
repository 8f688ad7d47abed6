package sinktest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
)

// Reader returns the IDs of the events the destination holds now, each as
// many times as it was delivered, in any order. The suite calls it after
// Flush.
type Reader func(t testing.TB) []uuid.UUID

// Harness tells [Run] how to make the sink under test.
type Harness struct {
	// New returns a fresh sink, with its own empty destination, and a
	// Reader of that destination. Required. The suite closes the sink if it
	// is an [audit.Closer]; New registers any other cleanup with t.Cleanup.
	New func(t testing.TB) (audit.Sink, Reader)
	// Refuse, when set, changes an event so that the destination refuses it
	// for good while accepting the others of the same batch (an event too
	// old for CloudWatch, say). Nil skips the PartialLoss rule, for sinks
	// that cannot lose part of a batch.
	Refuse func(e *audit.Event)
	// Stall, when set, makes the sink's destination stop answering: its
	// requests hang until the test ends. Nil skips the Deadline rule, for
	// sinks that cannot be stalled.
	Stall func()
}

// Run runs every rule against h's sink as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("sinktest: Harness.New is nil")
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) { r.fn(t, h) })
	}
}

// rules are the suite's rules, in the order Run runs them.
var rules = []struct {
	name string
	fn   func(testing.TB, Harness)
}{
	{"Once", testOnce},
	{"FlushAfterSend", testFlushAfterSend},
	{"Concurrent", testConcurrent},
	{"NotKeepSlice", testNotKeepSlice},
	{"Context", testContext},
	{"Deadline", testDeadline},
	{"Closed", testClosed},
	{"PartialLoss", testPartialLoss},
}

// Events returns n valid events of varied levels and params, timestamped
// now, with fresh IDs. The suite sends these; sink tests may use them too.
func Events(n int) []audit.Event {
	levels := audit.Levels()
	now := time.Now().UTC().Truncate(time.Microsecond)
	out := make([]audit.Event, n)
	for i := range out {
		e := &out[i]
		e.ID = uuid.Must(uuid.NewV7())
		e.Time = now.Add(time.Duration(i) * time.Microsecond)
		e.Level = levels[i%len(levels)]
		e.Type = "sinktest"
		e.Message = fmt.Sprintf("event %d", i)
		e.UserID = "user-" + fmt.Sprint(i%3)
		e.SessionID = "session-1"
		e.Params = []audit.Param{
			{Key: "b", Value: audit.BoolValue(i%2 == 0)},
			{Key: "d", Value: audit.DurationValue(time.Duration(i) * time.Millisecond)},
			{Key: "f", Value: audit.Float64Value(float64(i) / 4)},
			{Key: "i", Value: audit.Int64Value(int64(-i))},
			{Key: "ref", Value: audit.EntityValue(audit.Ref("table", fmt.Sprint("t", i)))},
			{Key: "s", Value: audit.StringValue(awkward[i%len(awkward)])},
			{Key: "t", Value: audit.TimeValue(now)},
		}
		if e.Level == audit.LevelError {
			e.Type = audit.TypeError
			e.StackTrace = "goroutine 1 [running]:\nmain.main()\n\t/src/main.go:10 +0x1d\n"
			e.Fingerprint = "0123456789abcdef"
		}
		if i%5 == 4 {
			e.Duration = 1500 * time.Microsecond
		}
	}
	return out
}

// awkward are string values every sink must carry without loss or panic.
var awkward = []string{
	"plain",
	"",
	"nul\x00byte",
	"bad utf-8 \xff\xfe",
	"quote \" backslash \\ newline \n tab \t",
	"émoji 🙂 and 日本語",
	strings.Repeat("long ", 2000),
}

func ids(events []audit.Event) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i := range events {
		out[i] = events[i].ID
	}
	return out
}

// open makes the sink under test and closes it when the test ends.
func open(t testing.TB, h Harness) (audit.Sink, Reader) {
	t.Helper()
	s, read := h.New(t)
	if c, ok := s.(audit.Closer); ok {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	return s, read
}

func send(t testing.TB, s audit.Sink, events []audit.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Send(ctx, events); err != nil {
		t.Fatalf("Send(%d events): %v", len(events), err)
	}
}

func flush(t testing.TB, s audit.Sink) {
	t.Helper()
	f, ok := s.(audit.Flusher)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// checkOnce fails unless got holds each of want exactly once and nothing
// else.
func checkOnce(t testing.TB, got, want []uuid.UUID) {
	t.Helper()
	count := make(map[uuid.UUID]int, len(got))
	for _, id := range got {
		count[id]++
	}
	for _, id := range want {
		switch n := count[id]; n {
		case 1:
		case 0:
			t.Errorf("event %s not delivered", id)
		default:
			t.Errorf("event %s delivered %d times", id, n)
		}
		delete(count, id)
	}
	for id, n := range count {
		t.Errorf("unexpected event %s delivered %d times", id, n)
	}
}

func testOnce(t testing.TB, h Harness) {
	s, read := open(t, h)
	var want []uuid.UUID
	for _, n := range []int{1, 7, 30} {
		batch := Events(n)
		send(t, s, batch)
		want = append(want, ids(batch)...)
	}
	send(t, s, nil)
	flush(t, s)
	checkOnce(t, read(t), want)
}

func testFlushAfterSend(t testing.TB, h Harness) {
	s, read := open(t, h)
	flush(t, s)
	if got := read(t); len(got) != 0 {
		t.Fatalf("a fresh sink's destination holds %d events", len(got))
	}
	batch := Events(3)
	send(t, s, batch)
	flush(t, s)
	checkOnce(t, read(t), ids(batch))
}

func testConcurrent(t testing.TB, h Harness) {
	s, read := open(t, h)
	const workers, batches = 4, 5
	var (
		mu   sync.Mutex
		want []uuid.UUID
		wg   sync.WaitGroup
		errs = make(chan error, workers*batches)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range batches {
				batch := Events(4)
				if err := s.Send(context.Background(), batch); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				want = append(want, ids(batch)...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Send: %v", err)
	}
	flush(t, s)
	checkOnce(t, read(t), want)
}

func testNotKeepSlice(t testing.TB, h Harness) {
	s, read := open(t, h)
	batch := Events(5)
	want := ids(batch)
	send(t, s, batch)
	// Reuse the slice as a Logger reuses its batch buffer.
	for i, e := range Events(len(batch)) {
		batch[i] = e
		batch[i].Params[0].Value = audit.StringValue("overwritten")
	}
	flush(t, s)
	checkOnce(t, read(t), want)
}

func testContext(t testing.TB, h Harness) {
	s, read := open(t, h)
	batch := Events(3)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Send(ctx, batch)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a canceled context = %v, want an error wrapping context.Canceled", err)
	}
	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer dcancel()
	err = s.Send(dctx, batch)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send past its deadline = %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if f, ok := s.(audit.Flusher); ok {
		// An ended context may cut a Flush short, but never hangs it.
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = f.Flush(ctx)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Flush with a canceled context did not return within 10s")
		}
	}
	// The Logger retries the batch: each event must arrive once.
	send(t, s, batch)
	flush(t, s)
	checkOnce(t, read(t), ids(batch))
}

func testClosed(t testing.TB, h Harness) {
	s, read := h.New(t)
	c, ok := s.(audit.Closer)
	if !ok {
		t.Skip("the sink is not an audit.Closer")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	batch := Events(2)
	send(t, s, batch)
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close delivers what was sent before it.
	checkOnce(t, read(t), ids(batch))
	if err := s.Send(ctx, Events(1)); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Send after Close = %v, want an error wrapping audit.ErrClosed", err)
	}
	if f, ok := s.(audit.Flusher); ok {
		if err := f.Flush(ctx); !errors.Is(err, audit.ErrClosed) {
			t.Errorf("Flush after Close = %v, want an error wrapping audit.ErrClosed", err)
		}
	}
	if err := c.Close(ctx); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	checkOnce(t, read(t), ids(batch))
}

func testPartialLoss(t testing.TB, h Harness) {
	if h.Refuse == nil {
		t.Skip("Harness.Refuse is nil: the sink cannot lose part of a batch")
	}
	s, read := open(t, h)
	batch := Events(5)
	h.Refuse(&batch[1])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.Send(ctx, batch)
	var pe *audit.PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("Send with a refused event = %v, want an *audit.PartialError", err)
	}
	if pe.Lost != 1 {
		t.Errorf("PartialError.Lost = %d, want 1", pe.Lost)
	}
	flush(t, s)
	want := slices.Delete(ids(batch), 1, 2)
	checkOnce(t, read(t), want)
}

// deadlineGrace is how long the Deadline rule waits past a deadline before
// it declares the sink stuck: long, so a loaded machine does not fail it.
var deadlineGrace = 10 * time.Second

func testDeadline(t testing.TB, h Harness) {
	if h.Stall == nil {
		t.Skip("Harness.Stall is nil: the destination cannot be stalled")
	}
	s, _ := h.New(t)
	h.Stall()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	sent := make(chan error, 1)
	go func() { sent <- s.Send(ctx, Events(3)) }()
	select {
	case err := <-sent:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send to a stalled destination = %v, want an error wrapping context.DeadlineExceeded", err)
		}
	case <-time.After(deadlineGrace):
		t.Fatalf("Send to a stalled destination did not return %v after its deadline", deadlineGrace)
	}
	c, ok := s.(audit.Closer)
	if !ok {
		return
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer ccancel()
	closed := make(chan error, 1)
	go func() { closed <- c.Close(cctx) }()
	select {
	case <-closed: // nothing in flight: nil or the deadline's error
	case <-time.After(deadlineGrace):
		t.Fatalf("Close did not return %v after its deadline", deadlineGrace)
	}
}
