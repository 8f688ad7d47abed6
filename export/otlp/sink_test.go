package otlp_test

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logpb "go.opentelemetry.io/proto/otlp/logs/v1"
	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/otlp"
	"github.com/auditkit/audit/export/sinktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newSink(t testing.TB, r *receiver, mutate func(*otlp.Options)) *otlp.Sink {
	t.Helper()
	opts := otlp.Options{
		HTTP:     []otlploghttp.Option{otlploghttp.WithEndpointURL(r.URL())},
		Resource: resource.NewSchemaless(semconv.ServiceName("billing")),
		OnError:  func(error) {},
	}
	if mutate != nil {
		mutate(&opts)
	}
	s, err := otlp.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	var last *receiver // the receiver of the sink New made last
	sinktest.Run(t, sinktest.Harness{
		New: func(t testing.TB) (audit.Sink, sinktest.Reader) {
			r := newReceiver()
			t.Cleanup(r.Close)
			last = r
			return newSink(t, r, nil), func(t testing.TB) []uuid.UUID {
				var out []uuid.UUID
				for _, lr := range r.Records() {
					v, ok := attr(lr, otlp.IDKey)
					if !ok {
						t.Fatalf("record without %s: %v", otlp.IDKey, lr)
					}
					id, err := uuid.Parse(v.GetStringValue())
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, id)
				}
				return out
			}
		},
		Refuse: func(e *audit.Event) { e.Message = "refuse-me" },
		Stall:  func() { last.Stall() },
	})
}

// TestRoundTrip checks that every part of an event arrives in the OTLP
// request with its type.
func TestRoundTrip(t *testing.T) {
	r := newReceiver()
	defer r.Close()
	s := newSink(t, r, nil)
	defer s.Close(context.Background())

	at := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	traceID, spanID := "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	e := audit.Event{
		ID:          uuid.MustParse("01900000-0000-7000-8000-000000000001"),
		Time:        at,
		Level:       audit.LevelError,
		Type:        audit.TypeError,
		Message:     "payment failed",
		UserID:      "u1",
		SessionID:   "s1",
		Duration:    1500 * time.Microsecond,
		StackTrace:  "goroutine 1 [running]:\nmain.pay()",
		Fingerprint: "abc123",
		Params: []audit.Param{
			{Key: "amount", Value: audit.Float64Value(12.5)},
			{Key: "big", Value: audit.Uint64Value(1 << 63)},
			{Key: "bin", Value: audit.StringValue("\xff\x00ok")},
			{Key: "count", Value: audit.Int64Value(-3)},
			{Key: "nothing", Value: audit.Value{}},
			{Key: "ok", Value: audit.BoolValue(true)},
			{Key: "span_id", Value: audit.StringValue(spanID)},
			{Key: "table", Value: audit.EntityValue(audit.Ref("table", "t1"))},
			{Key: "took", Value: audit.DurationValue(1500 * time.Millisecond)},
			{Key: "trace_id", Value: audit.StringValue(traceID)},
			{Key: "when", Value: audit.TimeValue(at)},
		},
	}
	if err := s.Send(context.Background(), []audit.Event{e}); err != nil {
		t.Fatal(err)
	}
	recs := r.Records()
	if len(recs) != 1 {
		t.Fatalf("received %d records, want 1", len(recs))
	}
	lr := recs[0]
	if got := time.Unix(0, int64(lr.GetTimeUnixNano())).UTC(); !got.Equal(at) {
		t.Errorf("time = %v, want %v", got, at)
	}
	if lr.GetObservedTimeUnixNano() == 0 {
		t.Error("observed time not set")
	}
	if lr.GetSeverityNumber() != logpb.SeverityNumber_SEVERITY_NUMBER_ERROR || lr.GetSeverityText() != "error" {
		t.Errorf("severity = %v %q, want ERROR \"error\"", lr.GetSeverityNumber(), lr.GetSeverityText())
	}
	if lr.GetBody().GetStringValue() != "payment failed" || lr.GetEventName() != "error" {
		t.Errorf("body %q, event name %q", lr.GetBody().GetStringValue(), lr.GetEventName())
	}
	if got := hex.EncodeToString(lr.GetTraceId()); got != traceID {
		t.Errorf("trace id = %s, want %s", got, traceID)
	}
	if got := hex.EncodeToString(lr.GetSpanId()); got != spanID {
		t.Errorf("span id = %s, want %s", got, spanID)
	}
	attrs := map[string]*commonpb.AnyValue{}
	for _, kv := range lr.GetAttributes() {
		if _, dup := attrs[kv.GetKey()]; dup {
			t.Errorf("attribute %s twice", kv.GetKey())
		}
		attrs[kv.GetKey()] = kv.GetValue()
	}
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	want := map[string]*commonpb.AnyValue{
		"amount":   {Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 12.5}},
		"big":      str("9223372036854775808"),
		"bin":      {Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte("\xff\x00ok")}},
		"count":    {Value: &commonpb.AnyValue_IntValue{IntValue: -3}},
		"nothing":  {},
		"ok":       {Value: &commonpb.AnyValue_BoolValue{BoolValue: true}},
		"span_id":  str(spanID),
		"trace_id": str(traceID),
		"took":     str("1.5s"),
		"when":     str("2026-03-04T05:06:07.123456Z"),
		"table": {Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
			{Key: "id", Value: str("t1")}, {Key: "kind", Value: str("table")},
		}}}},
		otlp.IDKey:          str(e.ID.String()),
		otlp.TypeKey:        str("error"),
		otlp.UserKey:        str("u1"),
		otlp.SessionKey:     str("s1"),
		otlp.DurationKey:    {Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 1.5}},
		otlp.FingerprintKey: str("abc123"),
		otlp.StackKey:       str(e.StackTrace),
	}
	for k, w := range want {
		g, ok := attrs[k]
		if !ok {
			t.Errorf("attribute %s missing", k)
			continue
		}
		if g.String() != w.String() {
			t.Errorf("attribute %s = %v, want %v", k, g, w)
		}
		delete(attrs, k)
	}
	for k, v := range attrs {
		t.Errorf("unexpected attribute %s = %v", k, v)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.scope != "github.com/auditkit/audit" {
		t.Errorf("scope = %q", r.scope)
	}
	var service string
	for _, kv := range r.resource.GetAttributes() {
		if kv.GetKey() == "service.name" {
			service = kv.GetValue().GetStringValue()
		}
	}
	if service != "billing" {
		t.Errorf("resource service.name = %q, want billing", service)
	}
}

func TestSeverities(t *testing.T) {
	r := newReceiver()
	defer r.Close()
	s := newSink(t, r, nil)
	defer s.Close(context.Background())
	events := sinktest.Events(6) // one of each level, in audit.Levels() order
	if err := s.Send(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	want := map[string]logpb.SeverityNumber{
		"debug":   logpb.SeverityNumber_SEVERITY_NUMBER_DEBUG,
		"info":    logpb.SeverityNumber_SEVERITY_NUMBER_INFO,
		"warning": logpb.SeverityNumber_SEVERITY_NUMBER_WARN,
		"error":   logpb.SeverityNumber_SEVERITY_NUMBER_ERROR,
		"audit":   logpb.SeverityNumber_SEVERITY_NUMBER_INFO3,
		"usage":   logpb.SeverityNumber_SEVERITY_NUMBER_INFO2,
	}
	recs := r.Records()
	if len(recs) != len(want) {
		t.Fatalf("received %d records, want %d", len(recs), len(want))
	}
	for _, lr := range recs {
		if w, ok := want[lr.GetSeverityText()]; !ok || lr.GetSeverityNumber() != w {
			t.Errorf("level %q has severity %v, want %v", lr.GetSeverityText(), lr.GetSeverityNumber(), w)
		}
		delete(want, lr.GetSeverityText())
	}
}

// TestManyParams: every param arrives, beyond the SDK's default limit of
// 128 attributes.
func TestManyParams(t *testing.T) {
	r := newReceiver()
	defer r.Close()
	s := newSink(t, r, nil)
	defer s.Close(context.Background())
	e := sinktest.Events(1)[0]
	e.Params = nil
	for i := range 300 {
		e.Params = append(e.Params, audit.Param{Key: "p" + string(rune('a'+i/26%26)) + string(rune('a'+i%26)) + string(rune('0'+i/676)), Value: audit.Int64Value(int64(i))})
	}
	if err := s.Send(context.Background(), []audit.Event{e}); err != nil {
		t.Fatal(err)
	}
	recs := r.Records()
	if len(recs) != 1 {
		t.Fatalf("received %d records", len(recs))
	}
	if n := len(recs[0].GetAttributes()); n < 300 {
		t.Errorf("record has %d attributes, want at least 300", n)
	}
	if d := recs[0].GetDroppedAttributesCount(); d != 0 {
		t.Errorf("%d attributes dropped", d)
	}
}

// TestEndpointError: a refused request is an error for the Logger to retry,
// not a loss.
func TestEndpointError(t *testing.T) {
	r := newReceiver()
	defer r.Close()
	r.fail = 1
	s := newSink(t, r, nil)
	defer s.Close(context.Background())
	events := sinktest.Events(3)
	err := s.Send(context.Background(), events)
	var pe *audit.PartialError
	if err == nil || errors.As(err, &pe) {
		t.Fatalf("Send to a failing endpoint = %v, want a plain error", err)
	}
	if err := s.Send(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if n := len(r.Records()); n != 3 {
		t.Errorf("received %d records after the retry, want 3", n)
	}
}

// TestPartialLossReported: the loss reaches OnError with the batch's ids.
func TestPartialLossReported(t *testing.T) {
	r := newReceiver()
	defer r.Close()
	var losses []*otlp.LossError
	s := newSink(t, r, func(o *otlp.Options) {
		o.OnError = func(err error) {
			var le *otlp.LossError
			if errors.As(err, &le) {
				losses = append(losses, le)
			}
		}
	})
	defer s.Close(context.Background())
	events := sinktest.Events(4)
	events[0].Message = "refuse-me"
	events[2].Message = "refuse-me too"
	err := s.Send(context.Background(), events)
	var pe *audit.PartialError
	if !errors.As(err, &pe) || pe.Lost != 2 {
		t.Fatalf("Send = %v, want a PartialError losing 2", err)
	}
	if len(losses) != 1 || losses[0].Rejected != 2 || len(losses[0].IDs) != 4 {
		t.Fatalf("OnError got %v, want one LossError of 2 with 4 ids", losses)
	}
}

// TestThroughLogger runs the sink as a Logger's sink.
func TestThroughLogger(t *testing.T) {
	r := newReceiver()
	defer r.Close()
	s := newSink(t, r, nil)
	l, err := audit.New(audit.Options{Sinks: []audit.Sink{s}, CloseSinks: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := l.Usage("opened", map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(r.Records()); n != 50 {
		t.Errorf("received %d records, want 50", n)
	}
	if st := l.Stats(); st.Sinks[0].Written != 50 {
		t.Errorf("sink stats %+v, want 50 written", st.Sinks[0])
	}
}

// TestCloseHoldsDeadline: an endpoint that never answers cannot hold Close
// past its deadline; the Send in flight returns an error, not success.
func TestCloseHoldsDeadline(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s, err := otlp.New(context.Background(), otlp.Options{
		HTTP: []otlploghttp.Option{otlploghttp.WithEndpointURL(srv.URL + "/v1/logs"), otlploghttp.WithTimeout(time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() { sent <- s.Send(context.Background(), sinktest.Events(2)) }()
	<-arrived

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- s.Close(ctx) }()
	select {
	case err := <-closed:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close = %v, want an error wrapping context.DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return 10s after its deadline")
	}
	if err := <-sent; err == nil {
		t.Error("the Send cut short by Close returned nil")
	}
	if err := s.Send(context.Background(), sinktest.Events(1)); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
}

// TestHostileContent: bytes that are not UTF-8, NUL bytes and a large value
// reach the endpoint without the request being refused.
func TestHostileContent(t *testing.T) {
	r := newReceiver()
	defer r.Close()
	s := newSink(t, r, nil)
	defer s.Close(context.Background())
	e := sinktest.Events(1)[0]
	e.Message = "bad \xff message with nul \x00"
	e.UserID = "user\xfe"
	e.Params = []audit.Param{
		{Key: "big", Value: audit.StringValue(strings.Repeat("x", 1<<20))},
		{Key: "bad\xffkey", Value: audit.StringValue("v")},
		{Key: "nul\x00key", Value: audit.StringValue("nul\x00value")},
	}
	if err := s.Send(context.Background(), []audit.Event{e}); err != nil {
		t.Fatal(err)
	}
	recs := r.Records()
	if len(recs) != 1 {
		t.Fatalf("received %d records", len(recs))
	}
	lr := recs[0]
	if got := string(lr.GetBody().GetBytesValue()); got != e.Message {
		t.Errorf("body %q, want the original bytes", got)
	}
	attrs := map[string]*commonpb.AnyValue{}
	for _, kv := range lr.GetAttributes() {
		attrs[kv.GetKey()] = kv.GetValue()
	}
	if got := string(attrs[otlp.UserKey].GetBytesValue()); got != e.UserID {
		t.Errorf("user %q", got)
	}
	if got := attrs["big"].GetStringValue(); len(got) != 1<<20 {
		t.Errorf("big value has %d bytes", len(got))
	}
	if got := attrs["bad\uFFFDkey"].GetStringValue(); got != "v" {
		t.Errorf("invalid key: %v", attrs)
	}
	if got := attrs["nul\u2400key"].GetStringValue(); got != "nul\x00value" {
		t.Errorf("NUL key: value %q", got)
	}
}

// memExporter is an sdklog.Exporter that keeps what it is given.
type memExporter struct {
	records  []string
	shutdown bool
}

func (m *memExporter) Export(_ context.Context, recs []sdklog.Record) error {
	for i := range recs {
		m.records = append(m.records, recs[i].Body().AsString()+" "+recs[i].Resource().String())
	}
	return nil
}
func (m *memExporter) Shutdown(context.Context) error   { m.shutdown = true; return nil }
func (m *memExporter) ForceFlush(context.Context) error { return nil }

// TestCustomExporter: Options.Exporter replaces the OTLP/HTTP exporter and
// is shut down by Close.
func TestCustomExporter(t *testing.T) {
	exp := &memExporter{}
	s, err := otlp.New(context.Background(), otlp.Options{
		Exporter: exp,
		Resource: resource.NewSchemaless(semconv.ServiceName("billing")),
	})
	if err != nil {
		t.Fatal(err)
	}
	events := sinktest.Events(2)
	if err := s.Send(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"event 0 service.name=billing", "event 1 service.name=billing"}
	if strings.Join(exp.records, "|") != strings.Join(want, "|") || !exp.shutdown {
		t.Errorf("exporter got %q, shut down %v; want %q, true", exp.records, exp.shutdown, want)
	}
}
