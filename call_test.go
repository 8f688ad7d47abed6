package audit_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/store/memory"
)

// syncLogger returns a synchronous Logger over a memory store, so events can
// be read back as soon as the call that logs them returns.
func syncLogger(t *testing.T) (*audit.Logger, *memory.Store) {
	t.Helper()
	st := memory.New(memory.Options{})
	l, err := audit.New(audit.Options{Store: st, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l, st
}

func param(t *testing.T, e audit.Event, key string) audit.Value {
	t.Helper()
	v, ok := e.Param(key)
	if !ok {
		t.Fatalf("event %q has no param %q; params %v", e.Message, key, e.Params)
	}
	return v
}

func TestCallRecordsInputsOutputsAndDuration(t *testing.T) {
	l, st := syncLogger(t)
	ctx := audit.WithSubject(context.Background(), audit.Subject{UserID: "ann", SessionID: "s1"})
	in := map[string]any{"amount": 10, "to": "bob"}
	before := time.Now()
	c := l.Call(ctx, "transfer", in)
	in["amount"] = 99 // inputs are converted at Call
	time.Sleep(2 * time.Millisecond)
	c.Output("fee", 1)
	c.Output("balance", 0)
	if err := c.End(map[string]any{"balance": 90}, nil); err != nil {
		t.Fatal(err)
	}

	evs := audittest.Stored(t, st)
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	e := evs[0]
	if e.Level != audit.LevelAudit || e.Type != audit.TypeFunctionCall || e.Message != "transfer" {
		t.Errorf("level %v type %q message %q", e.Level, e.Type, e.Message)
	}
	if e.UserID != "ann" || e.SessionID != "s1" {
		t.Errorf("attributed to %q/%q", e.UserID, e.SessionID)
	}
	if e.Time.Before(before.Truncate(time.Microsecond)) || e.Time.After(before.Add(time.Millisecond)) {
		t.Errorf("time %v is not the start of the call (%v)", e.Time, before)
	}
	if e.Duration < 2*time.Millisecond {
		t.Errorf("duration %v", e.Duration)
	}
	if ms := param(t, e, "ms"); ms.Kind() != audit.KindInt64 || ms.Int64() != e.Duration.Milliseconds() {
		t.Errorf("ms = %v (%v), duration %v", ms, ms.Kind(), e.Duration)
	}
	want := map[string]string{"function": "transfer", "in.amount": "10", "in.to": "bob", "out.fee": "1", "out.balance": "90"}
	for k, v := range want {
		if got := param(t, e, k).String(); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if e.StackTrace != "" || e.Fingerprint != "" {
		t.Errorf("a successful call has a stack: %q", e.StackTrace)
	}
	if err := c.End(nil, nil); err == nil || !strings.HasPrefix(err.Error(), "audit: ") {
		t.Errorf("second End: %v", err)
	}
	c.Output("late", 1)
	if n := st.Len(); n != 1 {
		t.Errorf("%d events after a second End", n)
	}
}

func failAt(l *audit.Logger, err error) error {
	return l.Call(context.Background(), "open", map[string]any{"path": "/x"}).End(nil, err)
}

func TestCallErrorIsTheEvent(t *testing.T) {
	l, st := syncLogger(t)
	err1 := &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}
	for _, err := range []error{err1, errors.New("other")} { // one call site
		if err := failAt(l, err); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Call(context.Background(), "open", nil, "file-opened").End(nil, err1); err != nil {
		t.Fatal(err)
	}
	evs := audittest.Stored(t, st)
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	e := evs[0]
	if e.Level != audit.LevelError || e.Type != audit.TypeFunctionCall || e.Message != err1.Error() {
		t.Errorf("level %v type %q message %q", e.Level, e.Type, e.Message)
	}
	if got := param(t, e, "error_type").String(); got != "*fs.PathError" {
		t.Errorf("error_type %q", got)
	}
	if got := param(t, e, "function").String(); got != "open" {
		t.Errorf("function %q", got)
	}
	if !strings.HasPrefix(e.StackTrace, "github.com/auditkit/audit_test.failAt()") {
		t.Errorf("stack does not start at End's caller:\n%s", e.StackTrace)
	}
	if e.Fingerprint == "" || e.Fingerprint != evs[1].Fingerprint {
		t.Errorf("same call site, fingerprints %q and %q", e.Fingerprint, evs[1].Fingerprint)
	}
	if evs[2].Type != "file-opened" || evs[2].Fingerprint == e.Fingerprint {
		t.Errorf("custom type %q, fingerprint %q", evs[2].Type, evs[2].Fingerprint)
	}
}

func TestCallLoggedAfterCancel(t *testing.T) {
	l, st := syncLogger(t)
	ctx, cancel := context.WithCancel(audit.WithSubject(context.Background(), audit.Subject{UserID: "ann"}))
	c := l.Call(ctx, "slow", nil)
	cancel()
	if err := c.End(nil, ctx.Err()); err != nil {
		t.Fatalf("End after cancel: %v", err)
	}
	evs := audittest.Stored(t, st)
	if len(evs) != 1 || evs[0].UserID != "ann" || evs[0].Message != "context canceled" {
		t.Fatalf("events %+v", evs)
	}
}

type user struct {
	Name string `json:"name"`
}

func TestDo(t *testing.T) {
	l, st := syncLogger(t)
	ctx := context.Background()

	u, err := audit.Do(ctx, l, "getUser", map[string]any{"id": 7}, func(context.Context) (user, error) {
		return user{"ann"}, nil
	})
	if err != nil || u.Name != "ann" {
		t.Fatalf("Do = %v, %v", u, err)
	}
	errNo := errors.New("no such user")
	_, err = audit.Do(ctx, l, "getUser", map[string]any{"id": 8}, func(context.Context) (*user, error) {
		return nil, errNo
	})
	if err != errNo {
		t.Fatalf("Do returned %v", err)
	}
	_, _ = audit.Do(ctx, l, "ping", nil, func(context.Context) (struct{}, error) { return struct{}{}, nil })

	evs := audittest.Stored(t, st)
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	if got := param(t, evs[0], "out.result").String(); got != `{"name":"ann"}` {
		t.Errorf("out.result %s", got)
	}
	if evs[1].Level != audit.LevelError || evs[1].Message != "no such user" || evs[1].Fingerprint == "" {
		t.Errorf("failed call: %+v", evs[1])
	}
	if !strings.HasPrefix(evs[1].StackTrace, "github.com/auditkit/audit_test.TestDo()") {
		t.Errorf("stack does not start at Do's caller:\n%s", evs[1].StackTrace)
	}
	if _, ok := evs[2].Param("out.result"); ok {
		t.Errorf("struct{} result recorded: %v", evs[2].Params)
	}
}

func explode() (int, error) { panic("boom") }

func TestDoRecordsAndRepanics(t *testing.T) {
	l, st := syncLogger(t)
	var r any
	func() {
		defer func() { r = recover() }()
		_, _ = audit.Do(context.Background(), l, "explode", nil, func(context.Context) (int, error) { return explode() })
	}()
	if r != "boom" {
		t.Fatalf("recovered %v, want the original panic", r)
	}
	evs := audittest.Stored(t, st)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	e := evs[0]
	if e.Level != audit.LevelError || e.Message != "panic: boom" || param(t, e, "error_type").String() != "string" {
		t.Errorf("event %+v", e)
	}
	if first := strings.SplitN(e.StackTrace, "\n", 3)[1]; !strings.HasPrefix(first, "github.com/auditkit/audit_test.explode(") {
		t.Errorf("stack does not start where it panicked:\n%s", e.StackTrace)
	}
}

func TestGo(t *testing.T) {
	l, st := syncLogger(t)
	ctx := audit.WithSubject(context.Background(), audit.Subject{UserID: "ann"})

	err := <-l.Go(ctx, "panics", func(context.Context) error { _, err := explode(); return err })
	var pe *audit.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" || !strings.Contains(pe.Stack, "audit_test.explode(") {
		t.Fatalf("Go reported %#v", err)
	}
	errFail := errors.New("sync failed")
	if err := <-l.Go(ctx, "fails", func(context.Context) error { return errFail }); err != errFail {
		t.Fatalf("Go reported %v", err)
	}
	if err := <-l.Go(ctx, "succeeds", func(context.Context) error { return nil }); err != nil {
		t.Fatalf("Go reported %v", err)
	}
	stop, cancel := context.WithCancel(ctx)
	cancel()
	if err := <-l.Go(stop, "stopped", func(ctx context.Context) error { return ctx.Err() }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Go reported %v", err)
	}

	evs := audittest.Stored(t, st)
	if len(evs) != 2 {
		t.Fatalf("%d events, want the panic and the error: %+v", len(evs), evs)
	}
	p, f := evs[0], evs[1]
	if p.Type != audit.TypeError || p.Level != audit.LevelError || p.Message != "panic: boom" || p.UserID != "ann" || p.Fingerprint == "" {
		t.Errorf("panic event %+v", p)
	}
	if param(t, p, "function").String() != "panics" {
		t.Errorf("panic params %v", p.Params)
	}
	if f.Message != "sync failed" || param(t, f, "error_type").String() != "*errors.errorString" {
		t.Errorf("error event %+v", f)
	}
	if !strings.HasPrefix(f.StackTrace, "github.com/auditkit/audit_test.TestGo()") {
		t.Errorf("error stack does not start at Go's caller:\n%s", f.StackTrace)
	}
}
