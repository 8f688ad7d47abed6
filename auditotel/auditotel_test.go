package auditotel_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/lib/pq"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/auditotel"
	"github.com/auditkit/audit/export/jsonl"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/memory"
	"github.com/auditkit/audit/store/postgres"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, func() error { return goleak.Find() })
}

func closeLogger(t *testing.T, l *audit.Logger) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, s *memory.Store) []audit.Event {
	t.Helper()
	p, err := s.Read(context.Background(), audit.Query{Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return p.Events
}

func TestTrace(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	store := memory.New(memory.Options{})
	l, err := audit.New(audit.Options{Store: store, Sync: true, Callback: auditotel.Trace})
	if err != nil {
		t.Fatal(err)
	}
	defer closeLogger(t, l)

	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	sc := span.SpanContext()
	if err := l.LogEvent(ctx, audit.Event{Level: audit.LevelUsage, Message: "in span"}); err != nil {
		t.Fatal(err)
	}
	span.End()
	// No span: nothing set, and a trace_id given by the caller stays.
	if err := l.LogEvent(context.Background(), audit.Event{Level: audit.LevelInfo, Message: "no span",
		Params: []audit.Param{{Key: "trace_id", Value: audit.StringValue("given")}}}); err != nil {
		t.Fatal(err)
	}
	for _, e := range readAll(t, store) {
		tid, _ := e.Param(auditotel.TraceIDParam)
		sid, hasSpan := e.Param(auditotel.SpanIDParam)
		switch e.Message {
		case "in span":
			if tid.String() != sc.TraceID().String() || sid.String() != sc.SpanID().String() {
				t.Errorf("in span: trace_id %q span_id %q, want %s %s", tid, sid, sc.TraceID(), sc.SpanID())
			}
		case "no span":
			if tid.String() != "given" || hasSpan {
				t.Errorf("no span: trace_id %q, span_id present %v", tid, hasSpan)
			}
		default:
			t.Errorf("unexpected event %q", e.Message)
		}
	}
}

// TestTraceQueryable: the ids are ordinary params, found by SQL in Postgres.
func TestTraceQueryable(t *testing.T) {
	ctx := context.Background()
	schema := pgtest.Schema(t)
	store, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(audit.Options{Store: store, Sync: true, CloseStore: true})
	if err != nil {
		t.Fatal(err)
	}
	defer closeLogger(t, l)
	tl := l.WithCallback(auditotel.Trace)

	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:  trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	})
	tctx := trace.ContextWithSpanContext(ctx, sc)
	for _, msg := range []string{"first", "second"} {
		if err := tl.LogEvent(tctx, audit.Event{Level: audit.LevelAudit, Message: msg}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tl.LogEvent(ctx, audit.Event{Level: audit.LevelAudit, Message: "other"}); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	err = store.DB().Select(&msgs, `SELECT e.description FROM `+pq.QuoteIdentifier(schema)+`.events e
		JOIN `+pq.QuoteIdentifier(schema)+`.event_parameter_values v ON v.event_id = e.id
		JOIN `+pq.QuoteIdentifier(schema)+`.event_parameters p ON p.id = v.parameter_id
		WHERE p.name = 'trace_id' AND v.value = $1 ORDER BY e.description`, sc.TraceID().String())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0] != "first" || msgs[1] != "second" {
		t.Errorf("events of trace %s: %q, want [first second]", sc.TraceID(), msgs)
	}
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	store := memory.New(memory.Options{})
	l, err := audit.New(audit.Options{
		Store: store,
		Sinks: []audit.Sink{jsonl.New(io.Discard, jsonl.Options{Name: "lines"})},
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := auditotel.RegisterMetrics(l, mp)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	for i := range 7 {
		if err := l.Info("hello", map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	closeLogger(t, l)
	_ = l.Info("after close", nil) // refused

	got := collect(t, reader)
	want := map[string]int64{
		"audit.events.logged store":  7,
		"audit.events.written store": 7,
		"audit.events.dropped store": 1,
		"audit.events.failed store":  0,
		"audit.writes.retried store": 0,
		"audit.queue.depth store":    0,
		"audit.events.logged lines":  7,
		"audit.events.written lines": 7,
		"audit.events.dropped lines": 0,
		"audit.events.failed lines":  0,
		"audit.writes.retried lines": 0,
		"audit.queue.depth lines":    0,
		"audit.events.refused ":      1,
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s = %d (present %v), want %d", k, g, ok, w)
		}
		delete(got, k)
	}
	for k, v := range got {
		t.Errorf("unexpected data point %s = %d", k, v)
	}
}

// collect returns the data points as "name destination" → value, checking
// that counters are monotonic sums.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != auditotel.ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			var points []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if !d.IsMonotonic || d.Temporality != metricdata.CumulativeTemporality {
					t.Errorf("%s is not a cumulative monotonic sum", m.Name)
				}
				points = d.DataPoints
			case metricdata.Gauge[int64]:
				points = d.DataPoints
			default:
				t.Errorf("%s has data %T", m.Name, m.Data)
			}
			for _, p := range points {
				dest, _ := p.Attributes.Value(attribute.Key(auditotel.DestinationKey))
				out[m.Name+" "+dest.AsString()] = p.Value
			}
		}
	}
	return out
}
