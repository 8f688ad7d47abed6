package auditslog_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"
	"time"

	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/auditslog"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/store/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clockTime is what the test Logger's clock says: an event with this time
// came from a record without one.
var clockTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

func newLogger(t *testing.T, opts audit.Options) (*audit.Logger, *memory.Store) {
	t.Helper()
	st := memory.New(memory.Options{})
	opts.Store, opts.Sync = st, true
	if opts.Now == nil {
		opts.Now = func() time.Time { return clockTime }
	}
	l, err := audit.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l, st
}

// slogLevels are the slog levels the handler maps to each audit level.
var slogLevels = map[audit.Level]slog.Level{
	audit.LevelDebug:   slog.LevelDebug,
	audit.LevelInfo:    slog.LevelInfo,
	audit.LevelWarning: slog.LevelWarn,
	audit.LevelError:   slog.LevelError,
}

// asMap turns a stored event back into the shape slogtest expects: the
// built-in keys, and each dotted param key as nested groups.
func asMap(e audit.Event) map[string]any {
	m := map[string]any{
		slog.LevelKey:   slogLevels[e.Level],
		slog.MessageKey: e.Message,
	}
	if !e.Time.Equal(clockTime) {
		m[slog.TimeKey] = e.Time
	}
	for _, p := range e.Params {
		g := m
		keys := strings.Split(p.Key, ".")
		for _, k := range keys[:len(keys)-1] {
			sub, ok := g[k].(map[string]any)
			if !ok {
				sub = map[string]any{}
				g[k] = sub
			}
			g = sub
		}
		g[keys[len(keys)-1]] = p.Value.Any()
	}
	return m
}

func TestSlogtest(t *testing.T) {
	var st *memory.Store
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		var l *audit.Logger
		l, st = newLogger(t, audit.Options{})
		return auditslog.NewHandler(l, nil)
	}, func(t *testing.T) map[string]any {
		evs := audittest.Stored(t, st)
		if len(evs) != 1 {
			t.Fatalf("%d events, want 1", len(evs))
		}
		return asMap(evs[0])
	})
}

type password string

func (password) LogValue() slog.Value { return slog.StringValue("[redacted]") }

type account struct {
	ID       string
	Password password
}

func (a account) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.ID), slog.Any("password", a.Password))
}

func TestRecordToEvent(t *testing.T) {
	// Key matching is off so the LogValuer's own masking is what is checked.
	l, st := newLogger(t, audit.Options{Redact: audit.Redact{Off: true}})
	log := slog.New(auditslog.NewHandler(l, nil))
	ctx := audit.WithSubject(context.Background(), audit.Subject{UserID: "ann", SessionID: "s1"})
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

	r := slog.NewRecord(at, slog.LevelWarn, "disk low", 0)
	r.AddAttrs(slog.Int("free_mb", 12), slog.Group("req", slog.String("method", "GET"), slog.Any("acct", account{"a1", "hunter2"})))
	if err := log.With("host", "h1").WithGroup("svc").Handler().Handle(ctx, r); err != nil {
		t.Fatal(err)
	}
	log.InfoContext(ctx, "query started", auditslog.Type(datagrok.QueryStart), slog.Group("q", auditslog.Type("not-the-type")))
	log.InfoContext(ctx, "logged in", "audit.type", datagrok.UserLoggedIn, auditslog.Level(audit.LevelAudit))
	log.With(auditslog.LevelKey, "usage", auditslog.TypeKey, datagrok.Click).Info("clicked", "button", "ok")
	log.Debug("not handled: below Info")

	evs := audittest.Stored(t, st)
	if len(evs) != 4 {
		t.Fatalf("%d events: %+v", len(evs), evs)
	}
	e := evs[0]
	if e.Level != audit.LevelWarning || e.Type != "" || e.Message != "disk low" || !e.Time.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("event %+v", e)
	}
	if e.UserID != "ann" || e.SessionID != "s1" {
		t.Errorf("attributed to %q/%q", e.UserID, e.SessionID)
	}
	want := map[string]string{
		"host": "h1", "svc.free_mb": "12", "svc.req.method": "GET",
		"svc.req.acct.id": "a1", "svc.req.acct.password": "[redacted]",
	}
	if len(e.Params) != len(want) {
		t.Errorf("params %v, want %v", e.Params, want)
	}
	for k, v := range want {
		if got, ok := e.Param(k); !ok || got.String() != v {
			t.Errorf("%s = %v, want %q", k, got, v)
		}
	}
	if v, _ := e.Param("svc.free_mb"); v.Kind() != audit.KindInt64 {
		t.Errorf("free_mb kind %v", v.Kind())
	}

	if e := evs[1]; e.Type != datagrok.QueryStart || e.Level != audit.LevelInfo {
		t.Errorf("typed event %+v", e)
	} else if v, _ := e.Param("q.audit.type"); v.String() != "not-the-type" {
		t.Errorf("a type inside a group must stay a param: %v", e.Params)
	}
	if e := evs[2]; e.Type != datagrok.UserLoggedIn || e.Level != audit.LevelAudit || len(e.Params) != 0 {
		t.Errorf("audit event %+v", e)
	}
	if e := evs[3]; e.Type != datagrok.Click || e.Level != audit.LevelUsage || len(e.Params) != 1 {
		t.Errorf("usage event %+v", e)
	}
}

func logErrorHere(log *slog.Logger) { log.Error("payment failed", "order", 9) }

func TestErrorsGetTheirCallSite(t *testing.T) {
	l, st := newLogger(t, audit.Options{})
	log := slog.New(auditslog.NewHandler(l, nil))
	for range 2 {
		logErrorHere(log)
	}
	evs := audittest.Stored(t, st)
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	e := evs[0]
	if e.Level != audit.LevelError || e.Type != audit.TypeError {
		t.Errorf("event %+v", e)
	}
	if !strings.HasPrefix(e.StackTrace, "github.com/auditkit/audit/auditslog_test.logErrorHere()\n") || strings.Count(e.StackTrace, "\n") != 2 {
		t.Errorf("stack %q", e.StackTrace)
	}
	if e.Fingerprint == "" || e.Fingerprint != evs[1].Fingerprint {
		t.Errorf("fingerprints %q, %q", e.Fingerprint, evs[1].Fingerprint)
	}
}

func TestOptions(t *testing.T) {
	l, st := newLogger(t, audit.Options{})
	h := auditslog.NewHandler(l, &auditslog.HandlerOptions{
		Level:    slog.LevelDebug - 4,
		MapLevel: func(slog.Level) audit.Level { return audit.LevelUsage },
	})
	if !h.Enabled(context.Background(), slog.LevelDebug-4) || h.Enabled(context.Background(), slog.LevelDebug-5) {
		t.Error("Enabled ignores HandlerOptions.Level")
	}
	slog.New(h).Log(context.Background(), slog.LevelDebug-4, "trace")
	if evs := audittest.Stored(t, st); len(evs) != 1 || evs[0].Level != audit.LevelUsage || evs[0].Type != audit.TypeUsage {
		t.Errorf("events %+v", evs)
	}
	for _, c := range []struct {
		in   slog.Level
		want audit.Level
	}{{slog.LevelDebug, audit.LevelDebug}, {slog.LevelInfo, audit.LevelInfo}, {slog.LevelInfo + 1, audit.LevelInfo}, {slog.LevelWarn, audit.LevelWarning}, {slog.LevelError, audit.LevelError}, {slog.LevelError + 4, audit.LevelError}} {
		if got := auditslog.DefaultLevel(c.in); got != c.want {
			t.Errorf("DefaultLevel(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestCancelledContextStillLogs(t *testing.T) {
	l, st := newLogger(t, audit.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slog.New(auditslog.NewHandler(l, nil)).InfoContext(ctx, "request aborted")
	if n := st.Len(); n != 1 {
		t.Errorf("%d events", n)
	}
}

// TestPrinterLoop checks that a Printer whose handler is the same Logger's
// Handler does not loop.
func TestPrinterLoop(t *testing.T) {
	var h *auditslog.Handler
	printer := slog.New(slog.DiscardHandler) // replaced below
	l, st := newLogger(t, audit.Options{Printer: printer})
	h = auditslog.NewHandler(l, nil)
	*printer = *slog.New(h)
	slog.New(h).Info("once")
	if n := st.Len(); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}
