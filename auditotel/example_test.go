package auditotel_test

import (
	"context"
	"fmt"
	"log"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/auditotel"
	"github.com/auditkit/audit/store/memory"
)

// Events logged with a context that carries a span get its ids as params.
func ExampleTrace() {
	store := memory.New(memory.Options{})
	logger, err := audit.New(audit.Options{Store: store, Sync: true, Callback: auditotel.Trace})
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close(context.Background())

	// An instrumentation (otelhttp, otelgrpc, ...) puts the span in ctx.
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))

	_ = logger.LogEvent(ctx, audit.Event{Level: audit.LevelAudit, Message: "invoice approved"})

	page, _ := store.Read(context.Background(), audit.Query{})
	e := page.Events[0]
	traceID, _ := e.Param("trace_id")
	spanID, _ := e.Param("span_id")
	fmt.Println(e.Message, traceID, spanID)
	// Output:
	// invoice approved 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7
}

// The Logger's counters become OpenTelemetry metrics, read at each
// collection (here by a ManualReader; in a service, a periodic OTLP
// reader or the Prometheus exporter).
func ExampleRegisterMetrics() {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	logger, err := audit.New(audit.Options{Store: memory.New(memory.Options{})})
	if err != nil {
		log.Fatal(err)
	}
	reg, err := auditotel.RegisterMetrics(logger, provider)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()

	_ = logger.Info("started", nil)
	_ = logger.Flush(context.Background())
	_ = logger.Close(context.Background())

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name == "audit.events.written" {
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				dest, _ := p.Attributes.Value(auditotel.DestinationKey)
				fmt.Println(m.Name, dest.AsString(), p.Value)
			}
		}
	}
	// Output:
	// audit.events.written store 1
}
