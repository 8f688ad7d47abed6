package auditotel

import (
	"context"
	"errors"
	"math"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/auditkit/audit"
)

// DestinationKey is the attribute naming where events go: "store", or a
// sink's name as in [audit.SinkStats].
const DestinationKey = "audit.destination"

// ScopeName is the instrumentation scope of the metrics.
const ScopeName = "github.com/auditkit/audit/auditotel"

// RegisterMetrics registers observable instruments on a meter of mp (the
// global MeterProvider when nil) that report l.Stats() each time metrics are
// collected:
//
//	audit.events.logged    counter  events queued, per destination
//	audit.events.written   counter  events delivered, per destination
//	audit.events.dropped   counter  events never queued, per destination
//	audit.events.failed    counter  queued events given up, per destination
//	audit.writes.retried   counter  failed write attempts retried, per destination
//	audit.events.refused   counter  logging calls refused because the Logger was closed
//	audit.queue.depth      gauge    events waiting now, per destination
//
// The destination attribute [DestinationKey] is "store" for the store and
// the sink's name for each sink. For the store, dropped includes the
// refused calls, as in [audit.Stats]. Unregister the returned registration
// when the Logger is closed.
func RegisterMetrics(l *audit.Logger, mp metric.MeterProvider) (metric.Registration, error) {
	if l == nil {
		return nil, errors.New("auditotel: RegisterMetrics: nil Logger")
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	const events = "{event}"
	var errs []error
	counter := func(name, desc, unit string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return c
	}
	logged := counter("audit.events.logged", "Audit events queued for a destination.", events)
	written := counter("audit.events.written", "Audit events delivered to a destination.", events)
	dropped := counter("audit.events.dropped", "Audit events never queued for a destination (queue full, or Logger closed).", events)
	failed := counter("audit.events.failed", "Queued audit events given up.", events)
	retried := counter("audit.writes.retried", "Failed write attempts that were retried.", "{attempt}")
	refused := counter("audit.events.refused", "Logging calls refused because the Logger was closed.", events)
	depth, err := m.Int64ObservableGauge("audit.queue.depth", metric.WithDescription("Audit events waiting for a destination."), metric.WithUnit(events))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	store := metric.WithAttributeSet(attribute.NewSet(attribute.String(DestinationKey, "store")))
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := l.Stats()
		o.ObserveInt64(logged, clamp(s.Logged), store)
		o.ObserveInt64(written, clamp(s.Written), store)
		o.ObserveInt64(dropped, clamp(s.Dropped), store)
		o.ObserveInt64(failed, clamp(s.Failed), store)
		o.ObserveInt64(retried, clamp(s.Retried), store)
		o.ObserveInt64(depth, int64(s.QueueDepth), store)
		o.ObserveInt64(refused, clamp(s.Refused))
		for _, p := range s.Sinks {
			dest := metric.WithAttributeSet(attribute.NewSet(attribute.String(DestinationKey, p.Name)))
			o.ObserveInt64(logged, clamp(p.Logged), dest)
			o.ObserveInt64(written, clamp(p.Written), dest)
			o.ObserveInt64(dropped, clamp(p.Dropped), dest)
			o.ObserveInt64(failed, clamp(p.Failed), dest)
			o.ObserveInt64(retried, clamp(p.Retried), dest)
			o.ObserveInt64(depth, int64(p.QueueDepth), dest)
		}
		return nil
	}, logged, written, dropped, failed, retried, refused, depth)
}

// clamp converts a counter to int64, saturating rather than wrapping.
func clamp(n uint64) int64 {
	if n > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}
