package analysis_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
)

// BenchmarkRollups times the 30-day window questions on the generated log
// of BenchmarkAnalysis (90 days), read from the rollups and, side by side,
// from the events alone; the object's activity and the feed's first page
// for reference. The sizes are those of AUDIT_BENCH_SIZES (comma-separated
// millions of events, default "1"); each log is generated once into the
// schema audit_bench_<n>m and kept, its rollups rebuilt when the log is
// new (the time is logged).
//
//	go test -run XXX -bench BenchmarkRollups -benchtime 10x ./analysis/
//	AUDIT_BENCH_SIZES=1,10 go test -run XXX -bench BenchmarkRollups -benchtime 10x -timeout 60m ./analysis/
func BenchmarkRollups(b *testing.B) {
	sizes := strings.Split(os.Getenv("AUDIT_BENCH_SIZES"), ",")
	if sizes[0] == "" {
		sizes = []string{"1"}
	}
	for _, m := range sizes {
		var n int
		if _, err := fmt.Sscan(m, &n); err != nil || n <= 0 {
			b.Fatalf("AUDIT_BENCH_SIZES: %q is not a number of millions", m)
		}
		b.Run(m+"m", func(b *testing.B) {
			schema := fmt.Sprintf("audit_bench_%dm", n)
			if n == 1 {
				schema = "audit_bench_1m" // BenchmarkAnalysis's
			}
			s := benchStore(b, schema, n*1_000_000)
			if err := s.Migrate(ctx); err != nil { // a log generated before the rollups lacks their tables
				b.Fatal(err)
			}
			var have int
			if err := s.DB().GetContext(ctx, &have, "SELECT count(*) FROM "+pq.QuoteIdentifier(schema)+".rollup_state"); err != nil {
				b.Fatal(err)
			}
			if have == 0 {
				start := time.Now()
				if err := s.RebuildRollups(ctx, time.Time{}); err != nil {
					b.Fatal(err)
				}
				b.Logf("rollups of %dM events built in %s", n, time.Since(start).Round(time.Second))
			}
			month := benchEnd.Add(-30 * 24 * time.Hour)
			obj := audit.Ref("table", "t0042")
			for _, mode := range []struct {
				name string
				raw  bool
			}{{"rollups", false}, {"events", true}} {
				a, err := analysis.New(s, analysis.Options{Now: func() time.Time { return benchEnd }, NoRollups: mode.raw})
				if err != nil {
					b.Fatal(err)
				}
				for _, q := range []struct {
					name string
					fn   func() error
				}{
					{"Overview30d", func() error { _, err := a.Overview(ctx, analysis.OverviewRequest{Since: month}); return err }},
					{"Usage30d", func() error { _, err := a.Usage(ctx, analysis.UsageRequest{Since: month}); return err }},
					{"Unused30d", func() error { _, err := a.Unused(ctx, analysis.UnusedRequest{}); return err }},
					{"Patterns30d", func() error { _, err := a.Patterns(ctx, analysis.PatternsRequest{}); return err }},
					{"Errors30d", func() error { _, err := a.Errors(ctx, analysis.ErrorsRequest{Since: month}); return err }},
					{"Perf30d", func() error { _, err := a.Perf(ctx, analysis.PerfRequest{Since: month}); return err }},
					{"Activity7d", func() error { _, err := a.Activity(ctx, analysis.ActivityRequest{Object: obj}); return err }},
					{"FeedPage", func() error { _, err := a.Feed(ctx, analysis.FeedRequest{}); return err }},
				} {
					b.Run(mode.name+"/"+q.name, func(b *testing.B) {
						b.Logf("load average %s", loadAvg())
						for b.Loop() {
							if err := q.fn(); err != nil {
								b.Fatal(err)
							}
						}
						b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
					})
				}
			}
		})
	}
}

// BenchmarkIngestRollupRunner writes batches of 1,000 generated events
// (times in the last two hours, whose rollups the runner keeps rewriting)
// into a fresh schema, with a rollup runner (default options) and
// without one, alternately in the same run: events/s of each.
//
//	go test -run XXX -bench BenchmarkIngestRollupRunner -benchtime 200x -count 3 ./analysis/
func BenchmarkIngestRollupRunner(b *testing.B) {
	for _, runner := range []bool{false, true} {
		b.Run(fmt.Sprintf("runner=%v", runner), func(b *testing.B) {
			s, err := postgres.Open(ctx, pgtest.DSN(b), postgres.Options{Schema: pgtest.Schema(b)})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(ctx)
			if runner {
				r, err := s.StartRollups(postgres.RollupOptions{
					OnError: func(err error) { b.Error(err) }})
				if err != nil {
					b.Fatal(err)
				}
				defer func() {
					if err := r.Close(ctx); err != nil {
						b.Error(err)
					}
				}()
			}
			gen := newGenerator(1_000_000)
			now := time.Now()
			batch := make([]audit.Event, 1000)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				for j := range batch {
					batch[j] = gen.event(i*len(batch) + j)
					batch[j].Time = now.Add(-time.Duration(gen.rng.Int64N(int64(2 * time.Hour))))
				}
				if err := s.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
