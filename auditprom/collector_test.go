package auditprom_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/auditprom"
	"github.com/auditkit/audit/store/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// flaky is a sink that fails its first n Sends and refuses events whose
// message is "poison" for good.
type flaky struct{ failures atomic.Int32 }

func (f *flaky) Name() string { return "flaky" }

func (f *flaky) Send(_ context.Context, events []audit.Event) error {
	if f.failures.Add(-1) >= 0 {
		return errors.New("unavailable")
	}
	for _, e := range events {
		if e.Message == "poison" {
			return audit.Permanent(errors.New("poison"))
		}
	}
	return nil
}

func TestCollector(t *testing.T) {
	sink := &flaky{}
	sink.failures.Store(1)
	l, err := audit.New(audit.Options{
		Store:        memory.New(memory.Options{}),
		Sinks:        []audit.Sink{sink},
		RetryMin:     time.Millisecond,
		RetryMax:     2 * time.Millisecond,
		ErrorHandler: func(error) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := auditprom.New(l, auditprom.Options{ConstLabels: prometheus.Labels{"logger": "billing"}})

	for i := range 5 {
		if err := l.Info("hello", map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Info("poison", nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_ = l.Info("late", nil)

	const want = `
# HELP audit_events_dropped_total Audit events never queued for a destination (queue full, or Logger closed).
# TYPE audit_events_dropped_total counter
audit_events_dropped_total{destination="flaky",logger="billing"} 0
audit_events_dropped_total{destination="store",logger="billing"} 1
# HELP audit_events_failed_total Queued audit events given up.
# TYPE audit_events_failed_total counter
audit_events_failed_total{destination="flaky",logger="billing"} 1
audit_events_failed_total{destination="store",logger="billing"} 0
# HELP audit_events_logged_total Audit events queued for a destination.
# TYPE audit_events_logged_total counter
audit_events_logged_total{destination="flaky",logger="billing"} 6
audit_events_logged_total{destination="store",logger="billing"} 6
# HELP audit_events_refused_total Logging calls refused because the Logger was closed.
# TYPE audit_events_refused_total counter
audit_events_refused_total{logger="billing"} 1
# HELP audit_events_written_total Audit events delivered to a destination.
# TYPE audit_events_written_total counter
audit_events_written_total{destination="flaky",logger="billing"} 5
audit_events_written_total{destination="store",logger="billing"} 6
# HELP audit_queue_depth Audit events waiting for a destination.
# TYPE audit_queue_depth gauge
audit_queue_depth{destination="flaky",logger="billing"} 0
audit_queue_depth{destination="store",logger="billing"} 0
# HELP audit_writes_retried_total Failed write attempts that were retried.
# TYPE audit_writes_retried_total counter
audit_writes_retried_total{destination="flaky",logger="billing"} 1
audit_writes_retried_total{destination="store",logger="billing"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 13 {
		t.Errorf("gathered %d series (%v), want 13", n, err)
	}
}

func TestNamespace(t *testing.T) {
	l, err := audit.New(audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	c := auditprom.New(l, auditprom.Options{Namespace: "svc_audit"})
	const want = `
# HELP svc_audit_events_refused_total Logging calls refused because the Logger was closed.
# TYPE svc_audit_events_refused_total counter
svc_audit_events_refused_total 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "svc_audit_events_refused_total"); err != nil {
		t.Error(err)
	}
}
