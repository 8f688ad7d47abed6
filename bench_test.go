package audit_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
)

// discardStore accepts every batch; benchmarks of the hot path measure the
// Logger, not a store.
type discardStore struct{}

func (discardStore) Write(context.Context, []audit.Event) error { return nil }

func benchLogger(b *testing.B, opts audit.Options) *audit.Logger {
	b.Helper()
	if opts.Store == nil {
		opts.Store = discardStore{}
	}
	opts.QueueSize = 1 << 16
	opts.BatchSize = 4096
	l, err := audit.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

var (
	params5 = map[string]any{
		"user": "alice", "query": audit.Ref("query", "q-42"), "rows": 1234,
		"elapsed": 0.25, "cached": true,
	}
	params10 = map[string]any{
		"user": "alice", "query": audit.Ref("query", "q-42"), "rows": 1234,
		"elapsed": 0.25, "cached": true, "connection": "pg-main", "attempt": 2,
		"status": "ok", "bytes": 987654, "source": "api",
	}
	attrs5 = []slog.Attr{
		slog.String("user", "alice"), slog.String("query", "q-42"), slog.Int("rows", 1234),
		slog.Float64("elapsed", 0.25), slog.Bool("cached", true),
	}
	attrs10 = append(attrs5[:5:5],
		slog.String("connection", "pg-main"), slog.Int("attempt", 2),
		slog.String("status", "ok"), slog.Int("bytes", 987654), slog.String("source", "api"))
)

// cpuPerOp reports the process's CPU time per operation as the metric
// cpu-ns/op, from now until the returned function runs (after b.Loop). For
// the Logger it includes its delivery goroutine: pass flush to wait for it.
// On a shared machine CPU time is steadier than wall time, and it counts
// the work the Logger moves off the caller's goroutine.
func cpuPerOp(b *testing.B, flush func()) func() {
	start, ok := processCPU()
	return func() {
		if flush != nil {
			flush()
		}
		if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// warm brings l to its steady state (its queue grown) before it is
// measured, so the first benchmark of a run pays no more than the others.
func warm(b *testing.B, l *audit.Logger) *audit.Logger {
	for range 20000 {
		l.Log("warm", audit.Int("i", 1))
	}
	if err := l.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	return l
}

// warmProcess logs through the Logger and slog, untimed, so that the
// runtime (heap size, GC pacing) is in its steady state before the first
// benchmark: otherwise whichever case runs first is measured slower.
func warmProcess(b *testing.B) {
	l, err := audit.New(audit.Options{Store: discardStore{}, QueueSize: 1 << 16, BatchSize: 4096})
	if err != nil {
		b.Fatal(err)
	}
	s := newSlog()
	for i := range 300000 {
		l.Log("warm", audit.String("user", "alice"), audit.Int("rows", i), map[string]any{"k": i})
		s.LogAttrs(context.Background(), slog.LevelInfo, "warm", slog.String("user", "alice"), slog.Int("rows", i))
	}
	if err := l.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

func flushOf(l *audit.Logger) func() {
	return func() { _ = l.Flush(context.Background()) }
}

func newSlog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// BenchmarkLog compares Logger.Log with log/slog's JSONHandler writing to
// io.Discard with the same fields, in the same run.
func BenchmarkLog(b *testing.B) {
	ctx := context.Background()
	warmProcess(b)
	// As users write it: the params are built in the call, and one of them
	// changes from call to call.
	b.Run("audit/5typed/per-call", func(b *testing.B) {
		l := warm(b, benchLogger(b, audit.Options{}))
		b.ReportAllocs()
		defer cpuPerOp(b, flushOf(l))()
		rows := 0
		for b.Loop() {
			rows++
			l.Log("query executed", audit.String("user", "alice"), audit.Object("query", "query", "q-42"),
				audit.Int("rows", rows), audit.Float64("elapsed", 0.25), audit.Bool("cached", true),
				datagrok.QueryStart)
		}
	})
	// Redaction's cost: the same call with key matching off, and with one
	// param redacted under an HMAC key.
	b.Run("audit/5typed/per-call/redact-off", func(b *testing.B) {
		l := warm(b, benchLogger(b, audit.Options{Redact: audit.Redact{Off: true}}))
		b.ReportAllocs()
		defer cpuPerOp(b, flushOf(l))()
		rows := 0
		for b.Loop() {
			rows++
			l.Log("query executed", audit.String("user", "alice"), audit.Object("query", "query", "q-42"),
				audit.Int("rows", rows), audit.Float64("elapsed", 0.25), audit.Bool("cached", true),
				datagrok.QueryStart)
		}
	})
	b.Run("audit/5typed/per-call/1hmac", func(b *testing.B) {
		l := warm(b, benchLogger(b, audit.Options{Redact: audit.Redact{HMACKey: []byte("key")}}))
		b.ReportAllocs()
		defer cpuPerOp(b, flushOf(l))()
		rows := 0
		for b.Loop() {
			rows++
			l.Log("query executed", audit.String("user", "alice"), audit.Object("query", "query", "q-42"),
				audit.Int("rows", rows), audit.Float64("elapsed", 0.25), audit.String("password", "hunter2"),
				datagrok.QueryStart)
		}
	})
	b.Run("audit/5map/per-call", func(b *testing.B) {
		l := warm(b, benchLogger(b, audit.Options{}))
		b.ReportAllocs()
		defer cpuPerOp(b, flushOf(l))()
		rows := 0
		for b.Loop() {
			rows++
			l.Log("query executed", map[string]any{
				"user": "alice", "query": audit.Ref("query", "q-42"), "rows": rows,
				"elapsed": 0.25, "cached": true,
			}, datagrok.QueryStart)
		}
	})
	b.Run("slog/5attrs/per-call", func(b *testing.B) {
		s := newSlog()
		b.ReportAllocs()
		defer cpuPerOp(b, nil)()
		rows := 0
		for b.Loop() {
			rows++
			s.LogAttrs(ctx, slog.LevelInfo, "query executed", slog.String("user", "alice"),
				slog.String("query", "q-42"), slog.Int("rows", rows), slog.Float64("elapsed", 0.25),
				slog.Bool("cached", true))
		}
	})
	b.Run("slog/5args/per-call", func(b *testing.B) {
		s := newSlog()
		b.ReportAllocs()
		defer cpuPerOp(b, nil)()
		rows := 0
		for b.Loop() {
			rows++
			s.Info("query executed", "user", "alice", "query", "q-42", "rows", rows,
				"elapsed", 0.25, "cached", true)
		}
	})
	b.Run("audit/5params", func(b *testing.B) {
		l := benchLogger(b, audit.Options{})
		b.ReportAllocs()
		for b.Loop() {
			l.Log("query executed", params5, datagrok.QueryStart)
		}
	})
	b.Run("slog/5attrs", func(b *testing.B) {
		s := newSlog()
		b.ReportAllocs()
		for b.Loop() {
			s.LogAttrs(ctx, slog.LevelInfo, "query executed", attrs5...)
		}
	})
	b.Run("audit/10params", func(b *testing.B) {
		l := benchLogger(b, audit.Options{})
		b.ReportAllocs()
		for b.Loop() {
			l.Log("query executed", params10, datagrok.QueryStart)
		}
	})
	b.Run("slog/10attrs", func(b *testing.B) {
		s := newSlog()
		b.ReportAllocs()
		for b.Loop() {
			s.LogAttrs(ctx, slog.LevelInfo, "query executed", attrs10...)
		}
	})
	b.Run("audit/5params+static+callback", func(b *testing.B) {
		l := benchLogger(b, audit.Options{
			Params:   map[string]any{"service": "billing", "version": "1.4.2"},
			Callback: func(_ context.Context, e *audit.Event) { e.Set("persistent", "value") },
		})
		b.ReportAllocs()
		for b.Loop() {
			l.Log("query executed", params5, datagrok.QueryStart)
		}
	})
	b.Run("slog/5attrs+2with", func(b *testing.B) {
		s := newSlog().With("service", "billing", "version", "1.4.2")
		b.ReportAllocs()
		for b.Loop() {
			s.LogAttrs(ctx, slog.LevelInfo, "query executed", append(attrs5[:5:5], slog.String("persistent", "value"))...)
		}
	})
	b.Run("audit/disabled", func(b *testing.B) {
		l := benchLogger(b, audit.Options{Policy: nothing{}})
		b.ReportAllocs()
		for b.Loop() {
			l.Debug("not logged", params5)
		}
	})
	b.Run("slog/disabled", func(b *testing.B) {
		s := newSlog()
		b.ReportAllocs()
		for b.Loop() {
			s.LogAttrs(ctx, slog.LevelDebug, "not logged", attrs5...)
		}
	})
	b.Run("audit/parallel/5params", func(b *testing.B) {
		l := benchLogger(b, audit.Options{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Log("query executed", params5, datagrok.QueryStart)
			}
		})
	})
	b.Run("slog/parallel/5attrs", func(b *testing.B) {
		s := newSlog()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.LogAttrs(ctx, slog.LevelInfo, "query executed", attrs5...)
			}
		})
	})
}

type nothing struct{}

func (nothing) Bind(audit.Subject) audit.Binding      { return nothing{} }
func (nothing) Route(audit.Level, string) audit.Route { return 0 }

// BenchmarkSpool compares, in one run, Log without a spool and with one at
// each flush policy: the difference is what appending to the spool adds to
// the call. The store accepts every batch, so the spool's reader keeps up.
// cpu-ns/op counts every goroutine (the reader's decoding, the group
// commit) up to the final Flush.
func BenchmarkSpool(b *testing.B) {
	cases := []struct {
		name  string
		spool func(b *testing.B) *audit.SpoolOptions
	}{
		{"memory", func(*testing.B) *audit.SpoolOptions { return nil }},
		{"spool-interval", func(b *testing.B) *audit.SpoolOptions { return &audit.SpoolOptions{Dir: b.TempDir()} }},
		{"spool-never", func(b *testing.B) *audit.SpoolOptions {
			return &audit.SpoolOptions{Dir: b.TempDir(), Sync: audit.SpoolSyncNever}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			l := benchLogger(b, audit.Options{Spool: c.spool(b)})
			b.ReportAllocs()
			done := cpuPerOp(b, func() { l.Flush(context.Background()) })
			for b.Loop() {
				if err := l.Log("query executed", params5, datagrok.QueryStart); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
	}
}
