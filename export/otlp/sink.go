package otlp

import (
	"context"
	"errors"
	"fmt"
	"log"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/auditkit/audit"
)

// Options configure a [Sink]. The zero value of each field means its default.
type Options struct {
	// HTTP are options of the otlploghttp exporter that New builds, applied
	// after New's own (retries off), so they can override it. Without
	// WithEndpoint or WithEndpointURL, the exporter follows the
	// OTEL_EXPORTER_OTLP_* environment variables, and by default sends to
	// https://localhost:4318/v1/logs.
	HTTP []otlploghttp.Option
	// Exporter, when set, is used instead of building an otlploghttp
	// exporter, and HTTP is ignored. The Sink shuts it down on Close.
	Exporter sdklog.Exporter
	// Resource describes the service. Default resource.Default() (the
	// service name from OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES).
	Resource *resource.Resource
	// Scope is the instrumentation scope name of the records. Default
	// "github.com/auditkit/audit".
	Scope string
	// OnError receives each partial loss, with the IDs of the batch it
	// happened in. Default: print to the standard logger.
	OnError func(error)
	// Name names the sink in the Logger's stats. Default "otlp".
	Name string
}

func (o Options) withDefaults() Options {
	if o.Resource == nil {
		o.Resource = resource.Default()
	}
	if o.Scope == "" {
		o.Scope = "github.com/auditkit/audit"
	}
	if o.OnError == nil {
		o.OnError = func(err error) { log.Print(err) }
	}
	if o.Name == "" {
		o.Name = "otlp"
	}
	return o
}

// Sink sends events as OTLP log records; see the package documentation.
type Sink struct {
	opts     Options
	provider *sdklog.LoggerProvider
	logger   otellog.Logger
	exporter sdklog.Exporter

	exporting chan struct{} // a token: the exporter takes one export at a time

	mu     sync.Mutex // guards closed and the sends counter
	closed bool
	sends  sync.WaitGroup
	// base is canceled when Close gives up waiting, to cut short the
	// exports in flight.
	base  context.Context
	abort context.CancelFunc
}

var (
	_ audit.Sink    = (*Sink)(nil)
	_ audit.Flusher = (*Sink)(nil)
	_ audit.Closer  = (*Sink)(nil)
	_ audit.Namer   = (*Sink)(nil)
)

// New returns a Sink exporting through an otlploghttp exporter built with
// opts.HTTP, or through opts.Exporter. It makes no connection yet.
func New(ctx context.Context, opts Options) (*Sink, error) {
	o := opts.withDefaults()
	exp := o.Exporter
	if exp == nil {
		httpOpts := append([]otlploghttp.Option{otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false})}, o.HTTP...)
		var err error
		exp, err = otlploghttp.New(ctx, httpOpts...)
		if err != nil {
			return nil, fmt.Errorf("otlp: exporter: %w", err)
		}
	}
	provider := sdklog.NewLoggerProvider(
		sdklog.WithResource(o.Resource),
		sdklog.WithProcessor(collector{}),
		// An audit event keeps every param, however many and however long.
		sdklog.WithAttributeCountLimit(-1),
		sdklog.WithAttributeValueLengthLimit(-1),
	)
	base, abort := context.WithCancel(context.Background())
	return &Sink{
		opts:      o,
		provider:  provider,
		logger:    provider.Logger(o.Scope),
		exporter:  exp,
		exporting: make(chan struct{}, 1),
		base:      base,
		abort:     abort,
	}, nil
}

// Name returns Options.Name.
func (s *Sink) Name() string { return s.opts.Name }

// Send exports the events in one request and returns when the endpoint has
// answered. A failed request is returned for the Logger to retry; a partial
// success as an *[audit.PartialError]. After Close, Send returns an error
// wrapping [audit.ErrClosed].
func (s *Sink) Send(ctx context.Context, events []audit.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("otlp: send: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("otlp: send: %w", audit.ErrClosed)
	}
	s.sends.Add(1)
	s.mu.Unlock()
	defer s.sends.Done()
	if len(events) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.base, cancel)()

	b := &batch{records: make([]sdklog.Record, 0, len(events))}
	bctx := context.WithValue(context.WithoutCancel(ctx), batchKey{}, b)
	now := time.Now()
	for i := range events {
		e := &events[i]
		rctx := bctx
		if sc, ok := spanContext(e); ok {
			rctx = trace.ContextWithSpanContext(bctx, sc)
		}
		s.logger.Emit(rctx, record(e, now))
	}
	if len(b.records) != len(events) {
		// Only after Close does the provider stop handing records over.
		return fmt.Errorf("otlp: send: %w", audit.ErrClosed)
	}

	select {
	case s.exporting <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("otlp: send: %w", ctx.Err())
	}
	err := s.exporter.Export(ctx, b.records)
	<-s.exporting
	if err == nil {
		return nil
	}
	if n, ok := rejected(err); ok && n > 0 && ctx.Err() == nil {
		n = min(n, len(events))
		s.opts.OnError(&LossError{Rejected: n, IDs: ids(events), Err: err})
		return &audit.PartialError{Lost: n, Err: fmt.Errorf("otlp: %d of %d events rejected: %w", n, len(events), err)}
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		err = fmt.Errorf("%w: %w", ctxErr, err)
	}
	return fmt.Errorf("otlp: export: %w", err)
}

// Flush returns at once: Send exports before it returns, so the Sink holds
// nothing. After Close it returns [audit.ErrClosed].
func (s *Sink) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("otlp: flush: %w", audit.ErrClosed)
	}
	return nil
}

// Close refuses new Sends, waits for those in flight, then shuts the
// exporter down; later Sends and Flushes fail with [audit.ErrClosed]. When
// ctx ends first, it cancels the Sends in flight (they return their error,
// so the Logger counts their events as not delivered) and returns ctx's
// error. Close may be called more than once.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.sends.Wait()
		close(done)
	}()
	var waitErr error
	select {
	case <-done:
	case <-ctx.Done():
		s.abort()
		<-done
		waitErr = fmt.Errorf("otlp: close: %w", ctx.Err())
	}
	s.abort()
	if waitErr != nil {
		// The exports are over; the shutdowns below do not wait on the
		// network, but report ctx's error once.
		_ = s.provider.Shutdown(context.WithoutCancel(ctx))
		_ = s.exporter.Shutdown(context.WithoutCancel(ctx))
		return waitErr
	}
	return errors.Join(s.provider.Shutdown(ctx), s.exporter.Shutdown(ctx))
}

// LossError reports records the endpoint rejected in a partial success.
// OTLP does not say which: IDs are those of the whole batch.
type LossError struct {
	// Rejected is how many records the endpoint rejected.
	Rejected int
	// IDs are the IDs of the batch's events.
	IDs []uuid.UUID
	// Err is the exporter's error, with the endpoint's message.
	Err error
}

// Error says how many of the batch were lost.
func (e *LossError) Error() string {
	return fmt.Sprintf("otlp: %d of %d events rejected by the endpoint: %v", e.Rejected, len(e.IDs), e.Err)
}

// Unwrap returns Err.
func (e *LossError) Unwrap() error { return e.Err }

func ids(events []audit.Event) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i := range events {
		out[i] = events[i].ID
	}
	return out
}

// rejected finds the count of an OTLP partial success in err. The exporter
// reports it as a value of its internal PartialSuccess type, whose
// RejectedItems field holds the count.
func rejected(err error) (int, bool) {
	found, n := false, 0
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		v := reflect.ValueOf(err)
		if v.Kind() == reflect.Struct && strings.HasSuffix(v.Type().Name(), "PartialSuccess") {
			if f := v.FieldByName("RejectedItems"); f.IsValid() && f.CanInt() {
				found, n = true, n+int(f.Int())
				return
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return n, found
}

// batchKey keys the batch a Send collects its records into.
type batchKey struct{}

type batch struct {
	mu      sync.Mutex
	records []sdklog.Record
}

// collector is the provider's only processor: it hands each record the SDK
// built (with resource, scope and trace ids) to the batch of the Send that
// emitted it, which exports them in one request.
type collector struct{}

func (collector) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

func (collector) OnEmit(ctx context.Context, r *sdklog.Record) error {
	b, ok := ctx.Value(batchKey{}).(*batch)
	if !ok {
		return nil
	}
	b.mu.Lock()
	b.records = append(b.records, r.Clone())
	b.mu.Unlock()
	return nil
}

func (collector) Shutdown(context.Context) error   { return nil }
func (collector) ForceFlush(context.Context) error { return nil }

// Attribute keys the Sink sets besides the params.
const (
	IDKey          = "audit.id"
	TypeKey        = "audit.type"
	UserKey        = "user.id"
	SessionKey     = "session.id"
	DurationKey    = "audit.duration_ms"
	FingerprintKey = "audit.fingerprint"
	StackKey       = "exception.stacktrace"
)

var severities = map[audit.Level]otellog.Severity{
	audit.LevelDebug:   otellog.SeverityDebug,
	audit.LevelInfo:    otellog.SeverityInfo,
	audit.LevelUsage:   otellog.SeverityInfo2,
	audit.LevelAudit:   otellog.SeverityInfo3,
	audit.LevelWarning: otellog.SeverityWarn,
	audit.LevelError:   otellog.SeverityError,
}

// Severity returns the OTel severity of an audit level (see the package
// documentation); SeverityUndefined for an invalid level.
func Severity(l audit.Level) otellog.Severity { return severities[l] }

func record(e *audit.Event, now time.Time) otellog.Record {
	var r otellog.Record
	r.SetTimestamp(e.Time)
	r.SetObservedTimestamp(now)
	r.SetSeverity(Severity(e.Level))
	r.SetSeverityText(e.Level.String())
	r.SetBody(str(e.Message))
	r.SetEventName(e.Type)
	attrs := make([]attribute.KeyValue, 0, len(e.Params)+7)
	for _, p := range e.Params {
		attrs = append(attrs, attribute.KeyValue{Key: attribute.Key(key(p.Key)), Value: value(p.Value)})
	}
	attrs = append(attrs,
		attribute.String(IDKey, e.ID.String()),
		attribute.KeyValue{Key: TypeKey, Value: str(e.Type)},
	)
	if e.UserID != "" {
		attrs = append(attrs, attribute.KeyValue{Key: UserKey, Value: str(e.UserID)})
	}
	if e.SessionID != "" {
		attrs = append(attrs, attribute.KeyValue{Key: SessionKey, Value: str(e.SessionID)})
	}
	if e.Duration != 0 {
		attrs = append(attrs, attribute.Float64(DurationKey, float64(e.Duration)/float64(time.Millisecond)))
	}
	if e.Fingerprint != "" {
		attrs = append(attrs, attribute.KeyValue{Key: FingerprintKey, Value: str(e.Fingerprint)})
	}
	if e.StackTrace != "" {
		attrs = append(attrs, attribute.KeyValue{Key: StackKey, Value: str(e.StackTrace)})
	}
	r.AddAttributes(attrs...)
	return r
}

// str is s as a string value, or as bytes when s is not UTF-8, which OTLP
// strings must be.
func str(s string) attribute.Value {
	if utf8.ValidString(s) {
		return attribute.StringValue(s)
	}
	return attribute.ByteSliceValue([]byte(s))
}

// key is a param key as an attribute key: OTLP keys are strings, so a key
// that is not UTF-8 or holds NUL follows [audit.Text]'s rule.
func key(k string) string {
	if k == "" {
		return "(empty)"
	}
	t, _ := audit.Text(k)
	return t
}

func value(v audit.Value) attribute.Value {
	switch v.Kind() {
	case audit.KindString, audit.KindJSON:
		return str(v.String())
	case audit.KindInt64:
		return attribute.Int64Value(v.Int64())
	case audit.KindUint64:
		if n := v.Uint64(); n <= 1<<63-1 {
			return attribute.Int64Value(int64(n))
		}
		return attribute.StringValue(v.String())
	case audit.KindFloat64:
		return attribute.Float64Value(v.Float64())
	case audit.KindBool:
		return attribute.BoolValue(v.Bool())
	case audit.KindTime:
		return attribute.StringValue(v.Time().Format(time.RFC3339Nano))
	case audit.KindDuration:
		return attribute.StringValue(v.Duration().String())
	case audit.KindEntity:
		ent, _ := v.Entity()
		return attribute.MapValue(
			attribute.KeyValue{Key: "kind", Value: str(ent.Kind)},
			attribute.KeyValue{Key: "id", Value: str(ent.ID)},
		)
	}
	return attribute.Value{}
}

// spanContext is the trace context named by the event's trace_id and
// span_id params, when both are valid.
func spanContext(e *audit.Event) (trace.SpanContext, bool) {
	tv, ok1 := e.Param("trace_id")
	sv, ok2 := e.Param("span_id")
	if !ok1 || !ok2 {
		return trace.SpanContext{}, false
	}
	tid, err1 := trace.TraceIDFromHex(tv.String())
	sid, err2 := trace.SpanIDFromHex(sv.String())
	if err1 != nil || err2 != nil {
		return trace.SpanContext{}, false
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, Remote: true}), true
}
