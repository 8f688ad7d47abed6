// Package auditotel connects an audit [audit.Logger] to OpenTelemetry.
//
// [Trace] is an [audit.Callback] that records the trace and span of the
// logging call's context as the params trace_id and span_id, so audit events
// can be found from a trace, and a trace from an event, with an ordinary
// param query:
//
//	logger, err := audit.New(audit.Options{Store: store, Callback: auditotel.Trace})
//	...
//	logger.LogEvent(ctx, e) // or any method taking ctx
//
// [RegisterMetrics] publishes the Logger's [audit.Stats] as OpenTelemetry
// metrics, read when the metrics are collected.
//
// Export events themselves as OpenTelemetry logs with package
// [github.com/auditkit/audit/export/otlp].
package auditotel
