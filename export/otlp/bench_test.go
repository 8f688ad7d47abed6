package otlp_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/otlp"
	"github.com/auditkit/audit/export/sinktest"
)

// BenchmarkExport: a batch of 100 events to a local OTLP/HTTP receiver,
// through the Sink, and (the anchor) the same records emitted through the
// SDK's own LoggerProvider with a BatchProcessor on the same exporter,
// flushed once per batch. ns/op is per batch.
func BenchmarkExport(b *testing.B) {
	r := newReceiver()
	defer r.Close()
	events := sinktest.Events(100)
	for i := range events {
		events[i].Params[5].Value = audit.StringValue("short string") // no 10 KB values
	}

	b.Run("sink", func(b *testing.B) {
		s, err := otlp.New(context.Background(), otlp.Options{HTTP: []otlploghttp.Option{otlploghttp.WithEndpointURL(r.URL())}})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close(context.Background())
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Send(context.Background(), events); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk-batch", func(b *testing.B) {
		exp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpointURL(r.URL()))
		if err != nil {
			b.Fatal(err)
		}
		p := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp, sdklog.WithExportMaxBatchSize(100))))
		defer p.Shutdown(context.Background())
		l := p.Logger("bench")
		b.ReportAllocs()
		for b.Loop() {
			for i := range events {
				e := &events[i]
				var rec otellog.Record
				rec.SetTimestamp(e.Time)
				rec.SetSeverity(otellog.SeverityInfo)
				rec.SetBody(attribute.StringValue(e.Message))
				for _, p := range e.Params {
					rec.AddAttributes(attribute.String(p.Key, p.Value.String()))
				}
				rec.AddAttributes(attribute.String("audit.id", e.ID.String()), attribute.String("user.id", e.UserID))
				l.Emit(context.Background(), rec)
			}
			if err := p.ForceFlush(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	r.mu.Lock()
	r.records = nil // keep memory flat between runs
	r.mu.Unlock()
}
