package auditprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditkit/audit"
)

// Options configure a [Collector]. The zero value gives the defaults.
type Options struct {
	// Namespace prefixes the metric names. Default "audit".
	Namespace string
	// ConstLabels are added to every metric, to tell several Loggers of one
	// process apart (say {"logger": "billing"}). Default none.
	ConstLabels prometheus.Labels
}

// Collector is a [prometheus.Collector] of a Logger's [audit.Stats].
type Collector struct {
	logger                                    *audit.Logger
	logged, written, dropped, failed, retried *prometheus.Desc
	refused, depth                            *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector of l's stats. Register it with a
// [prometheus.Registerer].
func New(l *audit.Logger, opts Options) *Collector {
	ns := opts.Namespace
	if ns == "" {
		ns = "audit"
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, labels, opts.ConstLabels)
	}
	const dest = "destination"
	return &Collector{
		logger:  l,
		logged:  desc("events_logged_total", "Audit events queued for a destination.", dest),
		written: desc("events_written_total", "Audit events delivered to a destination.", dest),
		dropped: desc("events_dropped_total", "Audit events never queued for a destination (queue full, or Logger closed).", dest),
		failed:  desc("events_failed_total", "Queued audit events given up.", dest),
		retried: desc("writes_retried_total", "Failed write attempts that were retried.", dest),
		refused: desc("events_refused_total", "Logging calls refused because the Logger was closed."),
		depth:   desc("queue_depth", "Audit events waiting for a destination.", dest),
	}
}

// Describe implements [prometheus.Collector].
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.logged, c.written, c.dropped, c.failed, c.retried, c.refused, c.depth} {
		ch <- d
	}
}

// Collect implements [prometheus.Collector]: it reads Logger.Stats once.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.logger.Stats()
	c.pipe(ch, "store", s.Logged, s.Written, s.Dropped, s.Failed, s.Retried, s.QueueDepth)
	for _, p := range s.Sinks {
		c.pipe(ch, p.Name, p.Logged, p.Written, p.Dropped, p.Failed, p.Retried, p.QueueDepth)
	}
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(s.Refused))
}

func (c *Collector) pipe(ch chan<- prometheus.Metric, dest string, logged, written, dropped, failed, retried uint64, depth int) {
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), dest)
	}
	counter(c.logged, logged)
	counter(c.written, written)
	counter(c.dropped, dropped)
	counter(c.failed, failed)
	counter(c.retried, retried)
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(depth), dest)
}
