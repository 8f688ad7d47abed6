package auditprom_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/auditprom"
	"github.com/auditkit/audit/store/memory"
)

// The Logger's counters on a /metrics endpoint.
func Example() {
	logger, err := audit.New(audit.Options{Store: memory.New(memory.Options{})})
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close(context.Background())

	reg := prometheus.NewRegistry()
	reg.MustRegister(auditprom.New(logger, auditprom.Options{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	_ = logger.Info("started", nil)
	_ = logger.Flush(context.Background())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "audit_events_written_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// audit_events_written_total{destination="store"} 1
}
