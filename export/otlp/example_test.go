package otlp_test

import (
	"context"
	"fmt"
	"log"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/otlp"
)

// Events go to an OpenTelemetry Collector's OTLP/HTTP endpoint (here a
// receiver in the test standing in for one).
func Example() {
	collector := newReceiver()
	defer collector.Close()

	sink, err := otlp.New(context.Background(), otlp.Options{
		HTTP: []otlploghttp.Option{otlploghttp.WithEndpointURL(collector.URL())},
	})
	if err != nil {
		log.Fatal(err)
	}
	logger, err := audit.New(audit.Options{Sinks: []audit.Sink{sink}, CloseSinks: true})
	if err != nil {
		log.Fatal(err)
	}
	_ = logger.WithUser("alice").Usage("report opened", map[string]any{"report": "q3"})
	if err := logger.Close(context.Background()); err != nil {
		log.Fatal(err)
	}

	for _, r := range collector.Records() {
		user, _ := attr(r, otlp.UserKey)
		report, _ := attr(r, "report")
		fmt.Println(r.GetSeverityText(), r.GetSeverityNumber(), r.GetBody().GetStringValue(), user.GetStringValue(), report.GetStringValue())
	}
	// Output:
	// usage SEVERITY_NUMBER_INFO2 report opened alice q3
}
