// Package auditprom exposes the delivery counters of an [audit.Logger]
// ([audit.Stats]) as Prometheus metrics:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(auditprom.New(logger, auditprom.Options{}))
//
// The metrics, read from Logger.Stats at each scrape, are (with the default
// namespace "audit"):
//
//	audit_events_logged_total{destination}   counter  events queued
//	audit_events_written_total{destination}  counter  events delivered
//	audit_events_dropped_total{destination}  counter  events never queued (queue full, Logger closed)
//	audit_events_failed_total{destination}   counter  queued events given up
//	audit_writes_retried_total{destination}  counter  failed write attempts retried
//	audit_events_refused_total               counter  logging calls refused: the Logger was closed
//	audit_queue_depth{destination}           gauge    events waiting now
//
// The label destination is "store" for the store and the sink's name for
// each sink, as in [audit.SinkStats]. For the store, dropped includes the
// refused calls, as in [audit.Stats].
//
// For OpenTelemetry metrics instead, see package
// [github.com/auditkit/audit/auditotel].
package auditprom
