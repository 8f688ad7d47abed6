package analysis_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/store/sqlite"
)

// ExampleNew_sqlite reads the performance of HTTP routes from a SQLite
// store's log.
func ExampleNew_sqlite() {
	dir, err := os.MkdirTemp("", "analysis-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "audit.db"), sqlite.Options{})
	if err != nil {
		panic(err)
	}
	defer store.Close(ctx)

	now := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	var events []audit.Event
	for i, ms := range []int{12, 15, 11, 250, 14} {
		status := 200
		if ms > 100 {
			status = 503
		}
		events = append(events, audit.Event{
			ID: uuid.Must(uuid.NewV7()), Time: now.Add(-time.Duration(i+1) * time.Hour),
			Level: audit.LevelUsage, Type: audit.TypeHTTPRequest, Duration: time.Duration(ms) * time.Millisecond,
			Params: []audit.Param{audit.P("method", "GET"), audit.P("ms", ms), audit.P("route", "GET /items/{id}"), audit.P("status", status)},
		})
	}
	if err := store.Write(ctx, events); err != nil {
		panic(err)
	}

	a, err := analysis.New(store, analysis.Options{Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	perf, err := a.Perf(ctx, analysis.PerfRequest{})
	if err != nil {
		panic(err)
	}
	for _, r := range perf.Routes {
		fmt.Printf("%s: %d requests, p50 %s, p95 %s, errors %.0f%%\n", r.Name, r.Count, r.P50, r.P95, 100*r.ErrorRate)
	}
	// Output:
	// GET /items/{id}: 5 requests, p50 14ms, p95 203ms, errors 20%
}
