package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
)

func TestTypedParams(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec})
	at := time.Date(2026, 3, 1, 12, 0, 0, 5, time.FixedZone("x", 3600))
	err := l.Log("typed",
		audit.String("s", "alice"), audit.Int("i", -3), audit.Int64("i64", math.MinInt64),
		audit.Uint64("u", math.MaxUint64), audit.Float64("f", 0.25), audit.Bool("b", true),
		audit.Time("t", at), audit.Duration("d", 1500*time.Millisecond),
		audit.Object("q", "query", "q-42"), audit.Any("a", []int{1, 2}),
		datagrok.QueryStart)
	if err != nil {
		t.Fatal(err)
	}
	flush(t, l)
	e := rec.all()[0]
	if e.Type != datagrok.QueryStart || e.Level != audit.LevelAudit {
		t.Errorf("type %q level %v", e.Type, e.Level)
	}
	want := map[string]any{
		"s": "alice", "i": int64(-3), "i64": int64(math.MinInt64), "u": uint64(math.MaxUint64),
		"f": 0.25, "b": true, "t": at.UTC(), "d": 1500 * time.Millisecond,
		"q": audit.Entity{Kind: "query", ID: "q-42"},
	}
	for k, w := range want {
		v, ok := e.Param(k)
		if !ok {
			t.Errorf("param %q missing", k)
			continue
		}
		if got := v.Any(); got != w {
			if gt, ok := got.(time.Time); !ok || !gt.Equal(w.(time.Time)) {
				t.Errorf("param %q = %#v, want %#v", k, got, w)
			}
		}
	}
	if v, _ := e.Param("a"); string(v.JSON()) != "[1,2]" {
		t.Errorf("param a = %s", v)
	}
	if len(e.Params) != 10 {
		t.Errorf("%d params, want 10: %v", len(e.Params), e.Params)
	}
}

// TestArgumentsMix checks how the logging methods read what follows the
// message: maps and Params merge (later wins), the first string is the
// record type, nil is ignored, anything else is kept under !BADARG<n>.
func TestArgumentsMix(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec})
	type point struct{ X, Y int }
	boom := errors.New("boom")
	l.Usage("mix",
		map[string]any{"k": "map", "m": 1},
		audit.String("k", "param"),
		nil,
		"my-type",
		[]audit.Param{audit.Int("n", 7)},
		42,
		"second string",
		point{1, 2},
		&point{3, 4},
		boom,
		func() {},
		map[string]int{"a": 1},
		map[int]int{1: 1},
		struct{ N int64 }{9},
		struct{ P *int }{new(int)},
	)
	flush(t, l)
	e := rec.all()[0]
	if e.Type != "my-type" || e.Level != audit.LevelUsage {
		t.Fatalf("type %q level %v", e.Type, e.Level)
	}
	got := map[string]string{}
	for _, p := range e.Params {
		got[p.Key] = p.Value.String()
	}
	want := map[string]string{
		"k": "param", "m": "1", "n": "7",
		"!BADARG5":  "42",
		"!BADARG6":  "second string",
		"!BADARG7":  `{"X":1,"Y":2}`,
		"!BADARG8":  `{"X":3,"Y":4}`,
		"!BADARG9":  "boom",
		"!BADARG10": "!ERROR: cannot encode func()",
		"!BADARG11": `{"a":1}`,
		"!BADARG12": "!ERROR: map[int]int not recorded: pass maps as map[string]any",
		"!BADARG13": `{"N":9}`,
		"!BADARG14": "!ERROR: struct { P *int } not recorded: pass it with audit.Any",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("param %q = %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("params %v, want %v", got, want)
	}
}

// TestStrayArgumentsOutliveTheCall checks that a stray argument built in
// the call (which the compiler may place on the caller's stack) is recorded
// from a copy: the recorded value stays right after the caller's frame is
// reused.
func TestStrayArgumentsOutliveTheCall(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec})
	type payload struct {
		Name string
		Vals [4]int
	}
	for i := range 50 {
		logStray(l, i)
		_ = deepStack(64)
		l.Info("x", &payload{Name: strings.Repeat("n", i%5), Vals: [4]int{i, i, i, i}})
	}
	flush(t, l)
	evs := rec.all()
	if len(evs) != 100 {
		t.Fatalf("%d events", len(evs))
	}
	for i := range 50 {
		v, _ := evs[2*i].Param("!BADARG0")
		var p struct{ A, B int }
		if err := json.Unmarshal([]byte(v.String()), &p); err != nil || p.A != i || p.B != -i {
			t.Fatalf("event %d: %s", i, v)
		}
		w, _ := evs[2*i+1].Param("!BADARG0")
		want := `{"Name":"` + strings.Repeat("n", i%5) + `","Vals":[` + strings.Repeat(itoa(i)+",", 3) + itoa(i) + `]}`
		if w.String() != want {
			t.Fatalf("event %d: %s, want %s", 2*i+1, w, want)
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

//go:noinline
func logStray(l *audit.Logger, i int) {
	type ab struct{ A, B int }
	l.Info("x", ab{i, -i})
}

//go:noinline
func deepStack(n int) int {
	var pad [256]byte
	pad[n%256] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return deepStack(n-1) + int(pad[n%256])
}

func TestWithTakesArguments(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec})
	l.With(audit.String("service", "billing"), map[string]any{"region": "eu"}, "stray").Log("m")
	flush(t, l)
	e := rec.all()[0]
	for k, w := range map[string]string{"service": "billing", "region": "eu", "!BADARG2": "stray"} {
		if v, _ := e.Param(k); v.String() != w {
			t.Errorf("param %q = %q, want %q", k, v, w)
		}
	}
	if e.Type != audit.TypeLog {
		t.Errorf("type %q: a string given to With is not a record type", e.Type)
	}
}

// TestContextForms checks every XxxContext method: its level and default
// type, ctx passed to the callback, and attribution from ctx.
func TestContextForms(t *testing.T) {
	rec := newRecorder()
	l, _ := newLogger(t, audit.Options{Store: rec, Callback: func(ctx context.Context, e *audit.Event) {
		if id, ok := ctx.Value(traceKey{}).(string); ok {
			e.Set("trace_id", id)
		}
	}})
	ctx := context.WithValue(context.Background(), traceKey{}, "t-1")
	ctx = audit.WithSubject(ctx, audit.Subject{UserID: "u-ctx", SessionID: "s-ctx"})
	calls := []struct {
		name  string
		log   func() error
		level audit.Level
		typ   string
	}{
		{"LogContext", func() error { return l.LogContext(ctx, "LogContext", audit.Int("n", 1)) }, audit.LevelAudit, audit.TypeLog},
		{"AuditContext", func() error { return l.AuditContext(ctx, "AuditContext", "custom") }, audit.LevelAudit, "custom"},
		{"UsageContext", func() error { return l.UsageContext(ctx, "UsageContext") }, audit.LevelUsage, audit.TypeUsage},
		{"InfoContext", func() error { return l.InfoContext(ctx, "InfoContext") }, audit.LevelInfo, ""},
		{"DebugContext", func() error { return l.DebugContext(ctx, "DebugContext") }, audit.LevelDebug, ""},
		{"WarningContext", func() error { return l.WarningContext(ctx, "WarningContext") }, audit.LevelWarning, ""},
		{"ErrorContext", func() error { return l.ErrorContext(ctx, errors.New("ErrorContext")) }, audit.LevelError, audit.TypeError},
	}
	for _, c := range calls {
		if err := c.log(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	flush(t, l)
	evs := rec.all()
	if len(evs) != len(calls) {
		t.Fatalf("%d events, want %d", len(evs), len(calls))
	}
	for i, c := range calls {
		e := evs[i]
		if e.Message != c.name || e.Level != c.level || e.Type != c.typ {
			t.Errorf("%s: message %q level %v type %q, want level %v type %q", c.name, e.Message, e.Level, e.Type, c.level, c.typ)
		}
		if e.UserID != "u-ctx" || e.SessionID != "s-ctx" {
			t.Errorf("%s: attributed to %q/%q, want the ctx's subject", c.name, e.UserID, e.SessionID)
		}
		if v, _ := e.Param("trace_id"); v.String() != "t-1" {
			t.Errorf("%s: trace_id %q: the callback did not get the ctx", c.name, v)
		}
	}
}

// TestContextFormRespectsCancellation checks that a ctx form's ctx bounds
// the wait for queue room.
func TestContextFormRespectsCancellation(t *testing.T) {
	rec := newRecorder()
	rec.block = make(chan struct{})
	defer close(rec.block)
	l, _ := newLogger(t, audit.Options{Store: rec, QueueSize: 1, BatchSize: 1, BlockTimeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var err error
	for range 10 {
		if err = l.LogContext(ctx, "fill"); err != nil {
			break
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, audit.ErrQueueFull) {
		t.Fatalf("LogContext on a full queue with an ended ctx: %v", err)
	}
}

// TestLaterArgumentsWin checks the order of precedence at each size the
// Logger sorts differently (up to 8, up to 16, more): static params, then
// the arguments in order, the last of equal keys winning.
func TestLaterArgumentsWin(t *testing.T) {
	for _, n := range []int{1, 7, 15, 40} {
		rec := newRecorder()
		l, _ := newLogger(t, audit.Options{Store: rec, Params: map[string]any{"k": "static", "s": "static"}})
		var args []any
		for i := range n {
			args = append(args, audit.Int(fmt.Sprintf("p%02d", i), i))
		}
		args = append(args, audit.String("k", "first"), map[string]any{"k": "map"}, audit.String("k", "last"))
		l.Log("m", args...)
		flush(t, l)
		e := rec.all()[0]
		if v, _ := e.Param("k"); v.String() != "last" {
			t.Errorf("%d params: k = %q, want the last argument's", n, v)
		}
		if v, _ := e.Param("s"); v.String() != "static" {
			t.Errorf("%d params: s = %q", n, v)
		}
		if len(e.Params) != n+2 {
			t.Errorf("%d params: got %d, want %d", n, len(e.Params), n+2)
		}
		for i := 1; i < len(e.Params); i++ {
			if e.Params[i-1].Key >= e.Params[i].Key {
				t.Fatalf("%d params: not sorted and unique: %v", n, e.Params)
			}
		}
	}
}
