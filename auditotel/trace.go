package auditotel

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/auditkit/audit"
)

// Param names set by [Trace].
const (
	// TraceIDParam holds the W3C trace id, 32 lowercase hex digits.
	TraceIDParam = "trace_id"
	// SpanIDParam holds the span id, 16 lowercase hex digits.
	SpanIDParam = "span_id"
)

// Trace is an [audit.Callback] that sets the params trace_id and span_id
// from the span in ctx (as put there by an OpenTelemetry instrumentation,
// or trace.ContextWithSpanContext). With no valid span in ctx it changes
// nothing, so a trace_id given in the logging call stays. Use it as
// Options.Callback or with [audit.Logger.WithCallback].
func Trace(ctx context.Context, e *audit.Event) {
	if ctx == nil {
		return
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	e.Set(TraceIDParam, sc.TraceID().String())
	e.Set(SpanIDParam, sc.SpanID().String())
}

var _ audit.Callback = Trace
