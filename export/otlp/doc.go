// Package otlp exports audit events as OpenTelemetry log records, with the
// official OpenTelemetry Go log SDK and its OTLP/HTTP exporter
// (go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp), to an
// OpenTelemetry Collector or any OTLP/HTTP endpoint.
//
// A [Sink] is an [audit.Sink]: give it to the Logger in Options.Sinks, and
// the Logger queues, batches and retries for it. Each Send is one OTLP
// export request, made before Send returns, so an event the Logger counts as
// written has been accepted by the endpoint. The exporter's own retries are
// off by default (the Logger retries a failed batch); pass
// otlploghttp.WithRetry in Options.HTTP to turn them on.
//
// # Records
//
// Each event becomes one log record:
//
//   - Timestamp: Event.Time; ObservedTimestamp: when it was sent.
//   - Severity: debug → DEBUG, info → INFO, usage → INFO2, audit → INFO3,
//     warning → WARN, error → ERROR; SeverityText is the level's name.
//   - Body: Event.Message. EventName: Event.Type.
//   - Attributes: every param under its own key, then audit.id,
//     audit.type, user.id, session.id, audit.duration_ms,
//     audit.fingerprint and exception.stacktrace when set (these win over a
//     param of the same key).
//   - A trace_id and a span_id param (as package auditotel sets them) also
//     set the record's TraceId and SpanId.
//
// Param values keep their type where OTLP has it (string, int64, float64,
// bool). A uint64 above the int64 range, a time (RFC 3339) and a duration
// (Go syntax, "1.5ms") become strings; an object reference becomes a map
// {kind, id}; a JSON value its text; a null an empty value. OTLP strings
// must be UTF-8, so a message or value that is not is sent as bytes,
// unchanged. Keys cannot be bytes: a key that is not UTF-8 or holds NUL is
// sent as [audit.Text] makes it (the Logger refuses no key, but such keys
// are rare enough that this is the one place the record differs).
//
// # Loss
//
// When the endpoint answers with a partial success (some records rejected),
// Send returns an *[audit.PartialError] counting them, after reporting the
// batch's IDs to Options.OnError: OTLP does not say which records it refused.
package otlp
