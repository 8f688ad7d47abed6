package audit_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
)

func TestMethodDefaults(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec})
	l.Log("a", nil)
	l.Log("b", nil, datagrok.QueryStart)
	l.Audit("c", nil)
	l.Usage("d", nil)
	l.Usage("e", nil, datagrok.Click)
	l.Info("f", nil)
	l.Debug("g", nil)
	l.Warning("h", nil)
	l.Error("i", nil)
	flush(t, l)

	type got struct {
		Msg   string
		Level audit.Level
		Type  string
	}
	want := []got{
		{"a", audit.LevelAudit, "log"},
		{"b", audit.LevelAudit, "query-start"},
		{"c", audit.LevelAudit, "log"},
		{"d", audit.LevelUsage, "usage"},
		{"e", audit.LevelUsage, "click"},
		{"f", audit.LevelInfo, ""},
		{"g", audit.LevelDebug, ""},
		{"h", audit.LevelWarning, ""},
		{"i", audit.LevelError, "error"},
	}
	var have []got
	for _, e := range rec.all() {
		have = append(have, got{e.Message, e.Level, e.Type})
		if e.ID.Version() != 7 || e.Time.IsZero() || e.Time.Location() != time.UTC {
			t.Errorf("event %q: id %s (version %d), time %v", e.Message, e.ID, e.ID.Version(), e.Time)
		}
		if e.Time.Nanosecond()%1000 != 0 {
			t.Errorf("event %q: time %v not truncated to microseconds", e.Message, e.Time)
		}
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
}

func TestErrorStacks(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec})

	l.Error("captured", nil)
	l.Error(os.ErrNotExist, map[string]any{"path": "/x"})
	given := "main.handler()\n\t/app/main.go:10\nmain.main()\n\t/app/main.go:3\n"
	l.Error("given", nil, given)
	failTwice := func() {
		for range 2 {
			l.Error(fmt.Errorf("boom %d", time.Now().UnixNano()), nil) // one line: same code path
		}
	}
	failTwice()
	flush(t, l)

	evs := rec.all()
	if len(evs) != 5 {
		t.Fatalf("got %d events, want 5", len(evs))
	}
	if !strings.Contains(evs[0].StackTrace, "audit_test.TestErrorStacks") {
		t.Errorf("captured stack does not name the caller:\n%s", evs[0].StackTrace)
	}
	if strings.Contains(evs[0].StackTrace, "audit.(*Logger).Error") {
		t.Errorf("captured stack includes the logger's own frames:\n%s", evs[0].StackTrace)
	}
	if evs[0].Fingerprint == "" || evs[0].Fingerprint != audit.Fingerprint(evs[0].StackTrace) {
		t.Errorf("fingerprint %q does not match the stack", evs[0].Fingerprint)
	}
	if evs[1].Message != "file does not exist" {
		t.Errorf("error message = %q", evs[1].Message)
	}
	if v, _ := evs[1].Param("error_type"); v.String() != "*errors.errorString" {
		t.Errorf("error_type = %q", v.String())
	}
	if v, _ := evs[1].Param("path"); v.String() != "/x" {
		t.Errorf("path param = %q", v.String())
	}
	if evs[2].StackTrace != given || evs[2].Fingerprint != audit.Fingerprint(given) {
		t.Errorf("given stack not kept: %q / %q", evs[2].StackTrace, evs[2].Fingerprint)
	}
	if evs[3].Fingerprint != evs[4].Fingerprint || evs[3].Message == evs[4].Message {
		t.Errorf("same code path, different messages: fingerprints %q and %q", evs[3].Fingerprint, evs[4].Fingerprint)
	}
	if evs[0].Fingerprint == evs[3].Fingerprint {
		t.Errorf("different code paths share fingerprint %q", evs[0].Fingerprint)
	}
}

func TestFingerprintNormalizes(t *testing.T) {
	a := `goroutine 7 [running]:
main.(*Server).handle(0xc000123456, {0x1234, 0x5})
	/app/server.go:42 +0x1a5
created by main.run in goroutine 1
	/app/main.go:20 +0x66
`
	b := `goroutine 1923 [running]:
main.(*Server).handle(0xc000999999, {0xabcd, 0x9})
	/app/server.go:42 +0x2b0
created by main.run in goroutine 4
	/app/main.go:20 +0x99
`
	moved := strings.Replace(a, "/app/server.go:42", "/build/other/server.go:97", 1)
	other := strings.Replace(a, "handle(", "serve(", 1)
	if audit.Fingerprint(a) != audit.Fingerprint(b) {
		t.Error("traces differing only in goroutine ids, addresses and arguments have different fingerprints")
	}
	if audit.Fingerprint(a) != audit.Fingerprint(moved) {
		t.Error("traces differing only in file paths and lines have different fingerprints")
	}
	if audit.Fingerprint(a) == audit.Fingerprint(other) {
		t.Error("traces through different functions share a fingerprint")
	}
	if audit.Fingerprint("  \n\n") != "" {
		t.Error("blank trace has a fingerprint")
	}
	if len(audit.Fingerprint(a)) != 32 {
		t.Errorf("fingerprint %q is not 32 hex digits", audit.Fingerprint(a))
	}
}

func TestParamsAreCopied(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec})
	params := map[string]any{"n": 1, "list": []string{"a", "b"}}
	list := params["list"].([]string)
	for i := range 50 {
		l.Log("x", params)
		// Mutate right after the call, as a caller reusing its map would;
		// the race detector also sees these writes against the pipe's reads.
		params["n"] = i + 2
		list[0] = "changed"
		params["extra"] = i
		delete(params, "extra")
	}
	flush(t, l)
	evs := rec.all()
	if len(evs) != 50 {
		t.Fatalf("got %d events", len(evs))
	}
	if v, _ := evs[0].Param("n"); v.Int64() != 1 {
		t.Errorf("first event's n = %v, want 1", v.Any())
	}
	if v, _ := evs[0].Param("list"); string(v.JSON()) != `["a","b"]` {
		t.Errorf("first event's list = %s, want the value at logging time", v.JSON())
	}
	if _, ok := evs[0].Param("extra"); ok {
		t.Error("a key added after the call leaked into the event")
	}
}

func TestStaticParamsCallbacksAndChildren(t *testing.T) {
	rec := newRecorder()
	var order []string
	l, _ := newLogger(t, audit.Options{
		Store:  rec,
		Params: map[string]any{"service": "billing", "region": "eu"},
		Callback: func(_ context.Context, e *audit.Event) {
			order = append(order, "parent")
			e.Set("persistent", "value")
		},
	})
	child := l.WithPackage("reports").With(map[string]any{"region": "us", "team": 7}).WithCallback(func(_ context.Context, e *audit.Event) {
		order = append(order, "child")
		if _, ok := e.Param("persistent"); !ok {
			t.Error("child callback ran before the parent's")
		}
		e.Set("a-first", true)
	}).WithUser("alice", "admins").WithSession("s1")

	l.Log("parent", map[string]any{"k": "v"})
	child.Log("child", map[string]any{"team": 8})
	flush(t, l)
	evs := rec.all()
	keys := func(e audit.Event) map[string]string {
		m := map[string]string{}
		for _, p := range e.Params {
			m[p.Key] = p.Value.String()
		}
		return m
	}
	if diff := cmp.Diff(map[string]string{"service": "billing", "region": "eu", "persistent": "value", "k": "v"}, keys(evs[0])); diff != "" {
		t.Errorf("parent params (-want +got):\n%s", diff)
	}
	want := map[string]string{"service": "billing", "region": "us", "persistent": "value", "team": "8", "package": "reports", "a-first": "true"}
	if diff := cmp.Diff(want, keys(evs[1])); diff != "" {
		t.Errorf("child params (-want +got):\n%s", diff)
	}
	for _, e := range evs {
		for i := 1; i < len(e.Params); i++ {
			if e.Params[i-1].Key >= e.Params[i].Key {
				t.Errorf("params of %q not sorted and unique: %v", e.Message, e.Params)
			}
		}
	}
	if evs[1].UserID != "alice" || evs[1].SessionID != "s1" || evs[0].UserID != "" {
		t.Errorf("attribution: child %q/%q, parent %q", evs[1].UserID, evs[1].SessionID, evs[0].UserID)
	}
	if got := child.Subject(); got.Package != "reports" || len(got.Groups) != 1 || got.Groups[0] != "admins" {
		t.Errorf("child subject = %+v", got)
	}
	if diff := cmp.Diff([]string{"parent", "parent", "child"}, order); diff != "" {
		t.Errorf("callback order (-want +got):\n%s", diff)
	}
}

func TestPanickingCallbackStillLogs(t *testing.T) {
	rec := newRecorder()
	l, errs := newLogger(t, audit.Options{Store: rec, Callback: func(_ context.Context, e *audit.Event) { panic("bad callback") }})
	if err := l.Log("survives", nil); err != nil {
		t.Fatal(err)
	}
	l.WithCallback(nil).Log("nil callback", nil)
	flush(t, l)
	if n := len(rec.all()); n != 2 {
		t.Fatalf("stored %d events, want 2", n)
	}
	if len(errs.Errors()) != 2 || !strings.Contains(errs.Errors()[0].Error(), "bad callback") {
		t.Errorf("panics not reported: %v", errs.Errors())
	}
}

type cyclic struct {
	Name string
	Next *cyclic
}

type badStringer struct{}

func (badStringer) String() string { panic("no") }

func TestHostileValues(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec, MaxMessageBytes: 100, MaxValueBytes: 50})
	loop := &cyclic{Name: "a"}
	loop.Next = loop
	var nilMap map[string]int
	huge := strings.Repeat("é", 1000) // 2 bytes each: cuts must respect runes
	raw := "bad\xff\xfeutf8\x00nul"
	err := l.Log(huge, map[string]any{
		"func":    func() {},
		"chan":    make(chan int),
		"cyclic":  loop,
		"nilmap":  nilMap,
		"nilptr":  (*cyclic)(nil),
		"panics":  badStringer{},
		"huge":    huge,
		"raw":     raw,
		"complex": complex(1, 2),
		raw:       "key is raw too",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Log("nil params", nil); err != nil {
		t.Fatal(err)
	}
	flush(t, l)
	evs := rec.all()
	if len(evs) != 2 {
		t.Fatalf("stored %d events", len(evs))
	}
	e := evs[0]
	if len(e.Message) > 130 || !strings.Contains(e.Message, "truncated") || !utf8.ValidString(e.Message) {
		t.Errorf("message not truncated visibly at a rune boundary: %d bytes %q", len(e.Message), e.Message[len(e.Message)-40:])
	}
	str := func(k string) string { v, _ := e.Param(k); return v.String() }
	for _, k := range []string{"func", "chan", "cyclic", "panics", "complex"} {
		if !strings.HasPrefix(str(k), "!ERROR") {
			t.Errorf("param %s = %q, want a descriptive !ERROR string", k, str(k))
		}
	}
	for _, k := range []string{"nilmap", "nilptr"} {
		if v, _ := e.Param(k); v.Kind() != audit.KindNull {
			t.Errorf("param %s kind = %v, want null", k, v.Kind())
		}
	}
	if h := str("huge"); !strings.Contains(h, "truncated") || !utf8.ValidString(h) {
		t.Errorf("huge value not truncated visibly: %q", h)
	}
	if str("raw") != raw || str(raw) != "key is raw too" {
		t.Errorf("invalid UTF-8 and NUL not kept byte for byte: %q", str("raw"))
	}
	if evs[1].Params != nil {
		t.Errorf("nil params became %v", evs[1].Params)
	}
}

func TestTextRule(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a\x00b", "a\u2400b"},
		{"a\xffb", "a\ufffdb"},
		{"\xe2\x82", "\ufffd\ufffd"},
		{"ok é ✓", "ok é ✓"},
	} {
		got, changed := audit.Text(tc.in)
		if got != tc.want || changed != (tc.in != tc.want) || !utf8.ValidString(got) {
			t.Errorf("Text(%q) = %q, %v; want %q", tc.in, got, changed, tc.want)
		}
	}
}

func TestRetriesUntilWritten(t *testing.T) {
	rec := newRecorder()
	rec.setFail(3)
	l, errs := newLogger(t, audit.Options{Store: rec})
	for i := range 10 {
		l.Log(fmt.Sprint(i), nil)
	}
	flush(t, l)
	if n := len(rec.all()); n != 10 {
		t.Fatalf("stored %d events, want 10", n)
	}
	s := l.Stats()
	if s.Retried != 3 || s.Written != 10 || s.Logged != 10 || s.Failed != 0 {
		t.Errorf("stats = %+v", s)
	}
	if len(errs.Errors()) != 3 || !errors.Is(errs.Errors()[0], errTransient) {
		t.Errorf("retries not reported: %v", errs.Errors())
	}
}

func TestPermanentErrorIsolatesTheBadEvent(t *testing.T) {
	rec := newRecorder()
	rec.refuse = func(e audit.Event) bool { return e.Message == "poison" }
	l, errs := newLogger(t, audit.Options{Store: rec, BatchSize: 16, FlushInterval: time.Hour})
	for i := range 16 {
		msg := fmt.Sprint(i)
		if i == 11 {
			msg = "poison"
		}
		l.Log(msg, nil)
	}
	flush(t, l)
	if n := len(rec.all()); n != 15 {
		t.Fatalf("stored %d events, want the 15 good ones", n)
	}
	if s := l.Stats(); s.Failed != 1 || s.Written != 15 || s.Retried != 0 {
		t.Errorf("stats = %+v", s)
	}
	if len(errs.Errors()) != 1 || !strings.Contains(errs.Errors()[0].Error(), "poison") {
		t.Errorf("refusal not reported: %v", errs.Errors())
	}
}

// TestPermanentRefusalsReportedOnce refuses several events of one batch:
// the others are written, each refused event is counted, and the batch's
// refusals make one report, not one per event.
func TestPermanentRefusalsReportedOnce(t *testing.T) {
	rec := newRecorder()
	rec.refuse = func(e audit.Event) bool { return strings.HasPrefix(e.Message, "poison") }
	l, errs := newLogger(t, audit.Options{Store: rec, BatchSize: 16, FlushInterval: time.Hour})
	for i := range 16 {
		msg := fmt.Sprint(i)
		if i%3 == 1 {
			msg = "poison " + msg
		}
		l.Log(msg, nil)
	}
	flush(t, l)
	if n := len(rec.all()); n != 11 {
		t.Fatalf("stored %d events, want the 11 good ones", n)
	}
	if s := l.Stats(); s.Failed != 5 || s.Written != 11 || s.Retried != 0 {
		t.Errorf("stats = %+v", s)
	}
	if got := errs.Errors(); len(got) != 1 || !strings.Contains(got[0].Error(), "refused 5 events, the first") || !strings.Contains(got[0].Error(), "poison 1") {
		t.Errorf("refusals reported as %v, want one report of 5 naming the first", got)
	}
}

func TestQueueFullDrop(t *testing.T) {
	rec := newRecorder()
	rec.block = make(chan struct{})
	l, errs := newLogger(t, audit.Options{Store: rec, QueueSize: 4, BatchSize: 1, Overflow: audit.OverflowDrop})
	var dropped int
	for i := range 20 {
		if err := l.Log(fmt.Sprint(i), nil); errors.Is(err, audit.ErrQueueFull) {
			dropped++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(errs.Errors()); n != 1 {
		t.Errorf("%d reports before the interval passed, want the first drop's alone", n)
	}
	close(rec.block)
	flush(t, l)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := l.Stats()
	if reported, n := droppedIn(errs.Errors(), "store"); dropped == 0 || s.Dropped != uint64(dropped) || reported != uint64(dropped) || n != 2 {
		t.Errorf("dropped %d, stats %+v, %d reported in %d reports", dropped, s, reported, n)
	}
	if s.Written+s.Dropped != 20 || len(rec.all()) != 20-dropped {
		t.Errorf("events lost silently: stats %+v, stored %d", s, len(rec.all()))
	}
}

func TestQueueFullBlocksThenGivesUp(t *testing.T) {
	rec := newRecorder()
	rec.block = make(chan struct{})
	l, _ := newLogger(t, audit.Options{Store: rec, QueueSize: 1, BatchSize: 1, BlockTimeout: 20 * time.Millisecond})
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		err = l.Log("x", nil)
	}
	if !errors.Is(err, audit.ErrQueueFull) {
		t.Fatalf("err = %v, want ErrQueueFull after the block timeout", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.LogEvent(ctx, audit.Event{Level: audit.LevelInfo}); !errors.Is(err, audit.ErrQueueFull) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want ErrQueueFull and context.Canceled", err)
	}
	close(rec.block)
}

// TestQueueFullWaitsWhileStoreProgresses: a store slower than the callers
// but delivering makes them wait past BlockTimeout in all, since each batch
// delivered starts the wait over; nothing is dropped. A store that stalls
// then makes the waiting call give up (after four times BlockTimeout, as
// its write is under way).
func TestQueueFullWaitsWhileStoreProgresses(t *testing.T) {
	const pause = 10 * time.Millisecond
	rec, hang := pacedRecorder(pause)
	const block = 20 * pause // a wide margin over one write, for loaded machines
	l, _ := newLogger(t, audit.Options{Store: rec, QueueSize: 2, BatchSize: 1, BlockTimeout: block})
	// 64 callers in line for a queue of 2 written one event at a time: the
	// last waits for about 62 writes, three times BlockTimeout.
	const goroutines, each = 64, 2
	const n = goroutines * each
	if d := logConcurrently(t, l, goroutines, each); d < 2*block {
		t.Errorf("the longest call waited %s: no caller waited past BlockTimeout (%s), the test proves nothing", d, block)
	}
	flush(t, l)
	if s := l.Stats(); s.Dropped != 0 || s.Written != n {
		t.Errorf("stats %+v, want %d written and none dropped", s, n)
	}
	defer hang()()
	loggingGivesUp(t, l, 20*block)
}

// logConcurrently logs each events from each of the goroutines, reports
// the calls that fail, and returns the longest call.
func logConcurrently(t *testing.T, l *audit.Logger, goroutines, each int) time.Duration {
	var wg sync.WaitGroup
	waited := make([]time.Duration, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				t0 := time.Now()
				if err := l.Log("slow", nil); err != nil {
					t.Errorf("after %s: %v", time.Since(t0), err)
				}
				waited[g] = max(waited[g], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	return slices.Max(waited)
}

// pacedRecorder returns a recorder whose every write takes pause, and hang,
// which makes its writes hang (under way, never ending) until the function
// it returns is called.
func pacedRecorder(pause time.Duration) (*recorder, func() func()) {
	rec := newRecorder()
	var hanging atomic.Bool
	hung := make(chan struct{})
	rec.onWrite = func(ctx context.Context) {
		if hanging.Load() {
			select {
			case <-hung:
			case <-ctx.Done():
			}
		}
		time.Sleep(pause)
	}
	return rec, func() func() {
		hanging.Store(true)
		return func() { close(hung) }
	}
}

// loggingGivesUp logs into a hung store until a call fails, and checks that
// it failed with ErrQueueFull within limit.
func loggingGivesUp(t *testing.T, l *audit.Logger, limit time.Duration) {
	t.Helper()
	start := time.Now()
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		err = l.Log("x", nil)
	}
	if took := time.Since(start); !errors.Is(err, audit.ErrQueueFull) || took > limit {
		t.Errorf("a hung store: err = %v after %s, want ErrQueueFull within %s", err, took, limit)
	}
}

// TestQueueFullToleratesSlowCommits: a store whose every write takes
// longer than BlockTimeout, but delivers, loses nothing to callers waiting
// for room, since a write is under way; once it hangs, a waiting call gives
// up within four times BlockTimeout.
func TestQueueFullToleratesSlowCommits(t *testing.T) {
	const block = 50 * time.Millisecond
	rec, hang := pacedRecorder(block * 3 / 2) // each write: 75 ms, more than BlockTimeout
	l, _ := newLogger(t, audit.Options{Store: rec, QueueSize: 2, BatchSize: 1, BlockTimeout: block})
	const goroutines, each = 4, 3
	logConcurrently(t, l, goroutines, each)
	flush(t, l)
	if s := l.Stats(); s.Dropped != 0 || s.Written != goroutines*each {
		t.Errorf("stats %+v, want %d written and none dropped", s, goroutines*each)
	}
	defer hang()()
	loggingGivesUp(t, l, 4*block+2*time.Second) // 4x, with a margin for loaded machines
}

func TestSyncMode(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec, Sync: true, MaxAttempts: 2})
	if err := l.Log("one", nil); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.all()); n != 1 {
		t.Fatalf("sync Log returned before the write: %d stored", n)
	}
	rec.setFail(1)
	if err := l.Log("retried", nil); err != nil {
		t.Fatalf("one transient failure should be retried: %v", err)
	}
	rec.setFail(5)
	if err := l.Log("fails", nil); !errors.Is(err, errTransient) {
		t.Fatalf("err = %v, want the store's error", err)
	}
	if s := l.Stats(); s.Written != 2 || s.Failed != 1 || s.Logged != 3 {
		t.Errorf("stats = %+v", s)
	}
}

func TestOrderPerGoroutine(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec, BatchSize: 7})
	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				l.Log("x", map[string]any{"g": g, "i": i})
			}
		}()
	}
	wg.Wait()
	flush(t, l)
	last := map[int64]int64{}
	evs := rec.all()
	if len(evs) != goroutines*each {
		t.Fatalf("stored %d events", len(evs))
	}
	for _, e := range evs {
		g, _ := e.Param("g")
		i, _ := e.Param("i")
		if prev, ok := last[g.Int64()]; ok && i.Int64() != prev+1 {
			t.Fatalf("goroutine %d: event %d stored after %d", g.Int64(), i.Int64(), prev)
		}
		last[g.Int64()] = i.Int64()
	}
}

func TestSlowSinkDoesNotBlockStore(t *testing.T) {
	rec, fast, slow := newRecorder(), newRecorder(), newRecorder()
	slow.block = make(chan struct{})
	l, errs := newLogger(t, audit.Options{Store: rec, Sinks: []audit.Sink{slow, fast}, SinkQueueSize: 5, BatchSize: 1, BlockTimeout: time.Millisecond})
	var unblock sync.Once
	release := func() { unblock.Do(func() { close(slow.block) }) }
	t.Cleanup(release) // runs before the logger's Close
	// Each event reaches the store and the fast sink while the slow sink is stuck.
	for i := range 50 {
		if err := l.Log(fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(rec.all()) <= i || len(fast.all()) <= i {
			if time.Now().After(deadline) {
				t.Fatalf("event %d: store has %d, fast sink %d: blocked by the slow sink", i, len(rec.all()), len(fast.all()))
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	s := l.Stats()
	if s.Sinks[0].Dropped == 0 || s.Sinks[1].Dropped != 0 || s.Dropped != 0 {
		t.Errorf("stats = %+v", s)
	}
	if len(errs.Errors()) != 1 {
		t.Errorf("%d sink drops made %d reports before the interval passed, want 1", s.Sinks[0].Dropped, len(errs.Errors()))
	}
	release()
	flush(t, l)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if reported, _ := droppedIn(errs.Errors(), s.Sinks[0].Name); reported != s.Sinks[0].Dropped {
		t.Errorf("%d sink drops, %d reported", s.Sinks[0].Dropped, reported)
	}
	s = l.Stats()
	if got := uint64(len(slow.all())); got != s.Sinks[0].Written || got+s.Sinks[0].Dropped != 50 {
		t.Errorf("slow sink: %d delivered, stats %+v", got, s.Sinks[0])
	}
}

type routePolicy struct {
	route func(audit.Subject, audit.Level, string) audit.Route
}

func (p routePolicy) Bind(s audit.Subject) audit.Binding { return boundRoute{p, s} }

type boundRoute struct {
	p routePolicy
	s audit.Subject
}

func (b boundRoute) Route(l audit.Level, typ string) audit.Route { return b.p.route(b.s, l, typ) }

func TestPolicyRoutes(t *testing.T) {
	rec, sink := newRecorder(), newRecorder()
	policy := routePolicy{func(s audit.Subject, l audit.Level, typ string) audit.Route {
		switch {
		case l == audit.LevelDebug && s.UserID != "dev":
			return 0
		case typ == "secret":
			return audit.RouteStore
		case typ == "export-only":
			return audit.RouteExport
		}
		return audit.RouteAll
	}}
	l, _ := newLogger(t, audit.Options{Store: rec, Sinks: []audit.Sink{sink}, Policy: policy})
	l.Debug("hidden", nil)
	l.WithUser("dev").Debug("shown", nil)
	l.Log("s", nil, "secret")
	l.Log("e", nil, "export-only")
	ctx := audit.WithSubject(context.Background(), audit.Subject{UserID: "dev", SessionID: "s9"})
	l.For(ctx).Debug("via ctx", nil)
	l.LogEvent(ctx, audit.Event{Level: audit.LevelDebug, Message: "via LogEvent"})
	flush(t, l)
	msgs := func(r *recorder) (out []string) {
		for _, e := range r.all() {
			out = append(out, e.Message+"@"+e.UserID+"/"+e.SessionID)
		}
		return out
	}
	if diff := cmp.Diff([]string{"shown@dev/", "s@/", "via ctx@dev/s9", "via LogEvent@dev/s9"}, msgs(rec)); diff != "" {
		t.Errorf("store (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"shown@dev/", "e@/", "via ctx@dev/s9", "via LogEvent@dev/s9"}, msgs(sink)); diff != "" {
		t.Errorf("sink (-want +got):\n%s", diff)
	}
	if l.Enabled(context.Background(), audit.LevelDebug, "") || !l.Enabled(ctx, audit.LevelDebug, "") || !l.Enabled(nil, audit.LevelAudit, "secret") {
		t.Error("Enabled disagrees with the policy")
	}
	if l.For(ctx) != l.For(ctx) {
		t.Error("For does not cache the bound logger in the context")
	}
	if l.For(context.Background()) != l {
		t.Error("For without a subject should return the logger itself")
	}
}

func TestLogEventFillsAndKeeps(t *testing.T) {
	rec := newRecorder()
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 3600))
	l, _ := newLogger(t, audit.Options{Store: rec, Params: map[string]any{"static": 1}})
	given := []audit.Param{audit.P("b", 2), audit.P("a", audit.Ref("query", "q1"))}
	err := l.LogEvent(context.Background(), audit.Event{
		Time: fixed, Level: audit.LevelUsage, Message: "m", Params: given,
		UserID: "u", Duration: 1500 * time.Millisecond, StackTrace: "f()\n\tx.go:1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.LogEvent(context.Background(), audit.Event{}); !errors.Is(err, audit.ErrInvalidLevel) {
		t.Errorf("zero level: err = %v", err)
	}
	flush(t, l)
	e := rec.all()[0]
	if !e.Time.Equal(fixed.Truncate(time.Microsecond)) || e.Time.Location() != time.UTC {
		t.Errorf("time = %v", e.Time)
	}
	if e.Type != "usage" || e.UserID != "u" || e.Duration != 1500*time.Millisecond || e.Fingerprint == "" {
		t.Errorf("event = %+v", e)
	}
	if len(e.Params) != 3 || e.Params[0].Key != "a" || given[0].Key != "b" {
		t.Errorf("params = %v (given slice now %v)", e.Params, given)
	}
	if ents := e.Entities(); len(ents) != 1 || ents[0] != audit.Ref("query", "q1") {
		t.Errorf("entities = %v", ents)
	}
}

func TestCloseFlushesAndRefuses(t *testing.T) {
	rec, sink := newRecorder(), newRecorder()
	l, err := audit.New(audit.Options{Store: rec, Sinks: []audit.Sink{sink}, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		l.Log(fmt.Sprint(i), nil)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rec.all()) != 100 || len(sink.all()) != 100 {
		t.Fatalf("Close delivered %d to the store, %d to the sink", len(rec.all()), len(sink.all()))
	}
	if err := l.Log("late", nil); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Log after Close: %v", err)
	}
	if err := l.Flush(context.Background()); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if s := l.Stats(); s.Refused != 1 || s.Dropped != 1 || s.Written != 100 {
		t.Errorf("stats = %+v", s)
	}
}

func TestCloseHonoursDeadline(t *testing.T) {
	rec := newRecorder()
	rec.block = make(chan struct{}) // a store that never answers
	l, err := audit.New(audit.Options{Store: rec, ErrorHandler: func(error) {}})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		l.Log("stuck", nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := l.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want DeadlineExceeded", err)
	}
	if s := l.Stats(); s.Failed != 10 || s.Written != 0 {
		t.Errorf("stats = %+v: unwritten events must be counted as failed", s)
	}
	// goleak (TestMain) checks that every goroutine has stopped.
}

func TestCloseRacesWithLoggers(t *testing.T) {
	rec := newRecorder()
	l, err := audit.New(audit.Options{Store: rec})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var ok, closed sync.Map
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				err := l.Log("x", map[string]any{"k": g*1000 + i})
				switch {
				case err == nil:
					ok.Store(g*1000+i, true)
				case errors.Is(err, audit.ErrClosed):
					closed.Store(g*1000+i, true)
				default:
					t.Error(err)
				}
			}
		}()
	}
	time.Sleep(2 * time.Millisecond)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	stored := map[int64]bool{}
	for _, e := range rec.all() {
		v, _ := e.Param("k")
		stored[v.Int64()] = true
	}
	ok.Range(func(k, _ any) bool {
		if !stored[int64(k.(int))] {
			t.Errorf("event %d was accepted but not stored", k)
		}
		return true
	})
	s := l.Stats()
	if s.Written != uint64(len(stored)) || s.Logged != s.Written {
		t.Errorf("stats = %+v, stored %d", s, len(stored))
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, tc := range []struct {
		opts  audit.Options
		field string
	}{
		{audit.Options{QueueSize: -1}, "QueueSize"},
		{audit.Options{RetryMin: time.Second, RetryMax: time.Millisecond}, "RetryMax"},
		{audit.Options{MaxAttempts: -2}, "MaxAttempts"},
		{audit.Options{Overflow: 9}, "Overflow"},
		{audit.Options{Sinks: []audit.Sink{nil}}, "Sinks[0]"},
	} {
		_, err := audit.New(tc.opts)
		if !errors.Is(err, audit.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err = %v", tc.field, err)
		}
	}
}

func TestPrinter(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	printer := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelInfo}))
	policy := routePolicy{func(_ audit.Subject, l audit.Level, _ string) audit.Route {
		if l == audit.LevelUsage {
			return audit.RouteStore // saved, not printed
		}
		return audit.RouteAll
	}}
	l, _ := newLogger(t, audit.Options{Printer: printer, Policy: policy})
	l.WithUser("alice").Log("opened", map[string]any{"project": audit.Ref("project", "p1")}, datagrok.ProjectOpened)
	l.Usage("clicked", nil)
	l.Debug("too verbose for the printer", nil)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, want := range []string{`level=INFO msg=opened audit.level=audit audit.type=project-opened`, "audit.user_id=alice", "audit.params.project=project:p1"} {
		if !strings.Contains(out, want) {
			t.Errorf("printed %q, missing %q", out, want)
		}
	}
	if strings.Contains(out, "clicked") || strings.Contains(out, "verbose") {
		t.Errorf("printed events outside the print route or level: %q", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// sizedSink asks for batches of its own size.
type sizedSink struct {
	*recorder
	size    int
	mu      sync.Mutex
	largest int
}

func (s *sizedSink) BatchSize() int { return s.size }

func (s *sizedSink) Send(ctx context.Context, evs []audit.Event) error {
	s.mu.Lock()
	s.largest = max(s.largest, len(evs))
	s.mu.Unlock()
	return s.recorder.Send(ctx, evs)
}

func TestSinkBatchSize(t *testing.T) {
	small := &sizedSink{recorder: newRecorder(), size: 3}
	big := &sizedSink{recorder: newRecorder(), size: 1000}
	l, _ := newLogger(t, audit.Options{Sinks: []audit.Sink{small, big}, BatchSize: 10, FlushInterval: time.Hour})
	for range 200 {
		l.Log("x", nil)
	}
	flush(t, l)
	if small.largest != 3 || big.largest <= 10 {
		t.Errorf("largest batches: %d (want 3) and %d (want above Options.BatchSize, 10)", small.largest, big.largest)
	}
	if len(small.all()) != 200 || len(big.all()) != 200 {
		t.Errorf("delivered %d and %d", len(small.all()), len(big.all()))
	}
}

// lossySink delivers every batch but reports the events marked "lost" as
// lost for good, the way the CloudWatch exporter reports events the service
// rejects.
type lossySink struct{ *recorder }

func (s lossySink) Send(ctx context.Context, evs []audit.Event) error {
	lost := 0
	for _, e := range evs {
		if e.Message == "lost" {
			lost++
		}
	}
	if err := s.recorder.Send(ctx, evs); err != nil || lost == 0 {
		return err
	}
	return &audit.PartialError{Lost: lost, Err: fmt.Errorf("%d events rejected", lost)}
}

func TestPartialDeliveryIsCounted(t *testing.T) {
	sink := lossySink{newRecorder()}
	l, errs := newLogger(t, audit.Options{Sinks: []audit.Sink{sink}, BatchSize: 10, FlushInterval: time.Hour})
	for i := range 20 {
		msg := "kept"
		if i%5 == 0 {
			msg = "lost"
		}
		l.Log(msg, nil)
	}
	flush(t, l)
	s := l.Stats().Sinks[0]
	if s.Written != 16 || s.Failed != 4 || s.Retried != 0 {
		t.Errorf("sink stats = %+v, want 16 written, 4 failed, no retries", s)
	}
	if len(errs.Errors()) != 0 {
		t.Errorf("the Logger reported what the sink already reported: %v", errs.Errors())
	}
}

func TestErrorTypeParamYieldsToTheCallers(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec})
	l.Error(os.ErrClosed, map[string]any{"error_type": "mine"})
	l.Error(os.ErrClosed, nil)
	flush(t, l)
	evs := rec.all()
	v0, _ := evs[0].Param("error_type")
	v1, _ := evs[1].Param("error_type")
	if v0.String() != "mine" || v1.String() != "*errors.errorString" {
		t.Errorf("error_type = %q and %q", v0, v1)
	}
}

func TestManyParamsSortedAndUnique(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec, Params: map[string]any{"k07": "static", "zz": "static"}})
	params := map[string]any{}
	for i := range 40 {
		params[fmt.Sprintf("k%02d", i)] = i
	}
	l.Log("many", params)
	flush(t, l)
	e := rec.all()[0]
	if len(e.Params) != 41 {
		t.Fatalf("%d params, want 41", len(e.Params))
	}
	for i := 1; i < len(e.Params); i++ {
		if e.Params[i-1].Key >= e.Params[i].Key {
			t.Fatalf("not sorted and unique at %d: %v", i, e.Params)
		}
	}
	if v, _ := e.Param("k07"); v.Int64() != 7 {
		t.Errorf("k07 = %v: the call's value must win over the static one", v.Any())
	}
}

type traceKey struct{}

func TestCallbackGetsTheCallsContext(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec, Callback: func(ctx context.Context, e *audit.Event) {
		if ctx == nil {
			t.Error("callback got a nil context")
			return
		}
		if id, ok := ctx.Value(traceKey{}).(string); ok {
			e.Set("trace_id", id)
		}
	}})
	ctx := context.WithValue(context.Background(), traceKey{}, "4bf92f3577b34da6")
	if err := l.LogEvent(ctx, audit.Event{Level: audit.LevelInfo, Type: audit.TypeLog, Message: "with ctx"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Log("without ctx", nil); err != nil {
		t.Fatal(err)
	}
	flush(t, l)
	got := map[string]string{}
	for _, e := range rec.all() {
		if v, ok := e.Param("trace_id"); ok {
			got[e.Message] = v.String()
		}
	}
	if got["with ctx"] != "4bf92f3577b34da6" || got["without ctx"] != "" {
		t.Fatalf("trace_id by message = %v, want the ctx's id only on the LogEvent call", got)
	}
}

// batchLog is a store that records the size of every batch.
type batchLog struct {
	*recorder
	mu    sync.Mutex
	sizes []int
}

func (b *batchLog) Write(ctx context.Context, evs []audit.Event) error {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(evs))
	b.mu.Unlock()
	return b.recorder.Write(ctx, evs)
}

func TestBatchesGrowWithBacklog(t *testing.T) {
	store := &batchLog{recorder: newRecorder()}
	store.block = make(chan struct{})
	l, _ := newLogger(t, audit.Options{Store: store, BatchSize: 10, MaxBatchSize: 100, QueueSize: 1000})
	for i := range 500 {
		if err := l.Log(fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	close(store.block)
	flush(t, l)
	store.mu.Lock()
	sizes := append([]int(nil), store.sizes...)
	store.mu.Unlock()
	if len(store.all()) != 500 {
		t.Fatalf("stored %d events, want 500", len(store.all()))
	}
	largest := 0
	for _, n := range sizes {
		largest = max(largest, n)
	}
	if largest != 100 {
		t.Errorf("batch sizes %v: the backlog should go out in batches of MaxBatchSize (100)", sizes)
	}
}

func TestLoneEventWrittenWithinFlushInterval(t *testing.T) {
	store := newRecorder()
	written := make(chan struct{}, 1)
	store.onWrite = func(context.Context) { written <- struct{}{} }
	l, _ := newLogger(t, audit.Options{Store: store, BatchSize: 512, MaxBatchSize: 8192, FlushInterval: 20 * time.Millisecond})
	if err := l.Log("alone", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-written:
	case <-time.After(10 * time.Second):
		t.Fatal("a lone event was not written by the flush interval")
	}
}

func TestMaxBatchSizeBelowBatchSize(t *testing.T) {
	_, err := audit.New(audit.Options{BatchSize: 100, MaxBatchSize: 10})
	if !errors.Is(err, audit.ErrInvalidOptions) || !strings.Contains(err.Error(), "MaxBatchSize") {
		t.Errorf("err = %v, want ErrInvalidOptions naming MaxBatchSize", err)
	}
}

// droppedIn sums the DropReports of dest among errs and counts them; it
// fails on any other error.
func droppedIn(errs []error, dest string) (dropped uint64, reports int) {
	for _, err := range errs {
		var r *audit.DropReport
		if errors.As(err, &r) && r.Destination == dest {
			dropped += r.Dropped
			reports++
		}
	}
	return dropped, reports
}
