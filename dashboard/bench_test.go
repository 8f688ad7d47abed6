package dashboard_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/dashboard"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
)

// benchEnd is the end of the benchmark's log and the dashboard's now.
var benchEnd = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkViews times the server side of each view (the handler, from
// the request to the rendered page, over the default 7-day range) on a log
// of 1,000,000 events over 90 days (newLog) in Postgres. The log is
// generated on the first run into the schema dashboard_bench_1m of the
// test server and kept for later runs (drop the schema to regenerate).
//
//	go test -run XXX -bench BenchmarkViews -benchtime 10x ./dashboard/
func BenchmarkViews(b *testing.B) {
	s := benchLog(b, "dashboard_bench_1m", 1_000_000)
	h, err := dashboard.New(s, dashboard.Options{Now: func() time.Time { return benchEnd }})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	for _, v := range []struct{ name, path string }{
		{"Overview", "/"},
		{"Log", "/log"},
		{"LogErrors", "/log?level=error"},
		{"LogText", "/log?text=failure+2"},
		{"LogParam", "/log?param=route&value=POST+/items"},
		{"Usage", "/usage"},
		{"Functions", "/functions"},
		{"Errors", "/errors"},
		{"ErrorsGroup", "/errors?fp=fp-1"},
		{"Performance", "/perf"},
		{"Patterns", "/patterns"},
		{"Object", "/object?kind=query&id=q-3"},
		{"Settings", "/settings"},
	} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", v.path, nil))
				if rec.Code != 200 {
					b.Fatalf("GET %s: %d %s", v.path, rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
	// The anchor: the analysis questions of the slowest views, asked
	// directly, so that the dashboard's own share shows.
	a, err := analysis.New(s, analysis.Options{Now: func() time.Time { return benchEnd }})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, q := range []struct {
		name string
		ask  func() error
	}{
		{"Overview", func() error { _, err := a.Overview(ctx, analysis.OverviewRequest{}); return err }},
		{"Usage", func() error { _, err := a.Usage(ctx, analysis.UsageRequest{}); return err }},
		{"Errors", func() error { _, err := a.Errors(ctx, analysis.ErrorsRequest{}); return err }},
		{"Perf", func() error { _, err := a.Perf(ctx, analysis.PerfRequest{}); return err }},
	} {
		b.Run("analysis/"+q.name, func(b *testing.B) {
			for b.Loop() {
				if err := q.ask(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}

// benchLog returns the store of n events of newLog in schema, written
// unless the schema already holds them.
func benchLog(b *testing.B, schema string, n int) *postgres.Store {
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.DSN(b), postgres.Options{Schema: schema, NoMigrate: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(ctx) })
	q := pq.QuoteIdentifier(schema)
	var have int
	if s.DB().GetContext(ctx, &have, "SELECT n FROM "+q+".bench_n") == nil && have == n {
		return s
	}
	start := time.Now()
	if _, err := s.DB().ExecContext(ctx, "DROP SCHEMA IF EXISTS "+q+" CASCADE"); err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	next := newLog(n, 90*24*time.Hour, benchEnd, 2)
	batch := make([]audit.Event, 0, 10_000)
	for i := range n {
		if batch = append(batch, next(i)); len(batch) == cap(batch) || i == n-1 {
			if err := s.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	var stmts []string
	for _, table := range []string{"events", "event_parameter_values", "event_types", "event_parameters", "users_sessions"} {
		stmts = append(stmts, "VACUUM ANALYZE "+q+"."+table)
	}
	stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s.bench_n AS SELECT %d AS n", q, n))
	for _, stmt := range stmts {
		if _, err := s.DB().ExecContext(ctx, stmt); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("generated %d events in %s", n, time.Since(start).Round(time.Second))
	return s
}
