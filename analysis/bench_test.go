package analysis_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
)

// benchEnd is the end of the generated log and the analyzer's now.
var benchEnd = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// benchVersion changes when the generator does, so cached schemas are
// regenerated.
const benchVersion = 1

// BenchmarkAnalysis times each question on a generated log of 100,000 and
// 1,000,000 events (5 params each, 1,000 users, 10,000 objects, 90 days) in
// Postgres. The log is generated once per size, through Store.Write, into
// the schema audit_bench_100k or audit_bench_1m of the test server, and kept
// there: later runs reuse it (drop the schema to regenerate). Generating 1M
// events takes about a minute.
//
//	go test -run XXX -bench BenchmarkAnalysis -benchtime 20x ./analysis/
func BenchmarkAnalysis(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"100k", 100_000}, {"1m", 1_000_000}} {
		b.Run(size.name, func(b *testing.B) {
			s := benchStore(b, "audit_bench_"+size.name, size.n)
			a, err := analysis.New(s, analysis.Options{Now: func() time.Time { return benchEnd }})
			if err != nil {
				b.Fatal(err)
			}
			obj := audit.Ref("table", "t0042")
			month := benchEnd.Add(-30 * 24 * time.Hour)
			for _, q := range []struct {
				name string
				fn   func() error
			}{
				{"Activity7d", func() error { _, err := a.Activity(ctx, analysis.ActivityRequest{Object: obj}); return err }},
				{"UsageObject7d", func() error { _, err := a.Usage(ctx, analysis.UsageRequest{Object: &obj}); return err }},
				{"Usage7d", func() error { _, err := a.Usage(ctx, analysis.UsageRequest{}); return err }},
				{"FeedPage", func() error { _, err := a.Feed(ctx, analysis.FeedRequest{}); return err }},
				{"FeedErrorsPage", func() error {
					_, err := a.Feed(ctx, analysis.FeedRequest{Scope: analysis.Scope{Levels: []audit.Level{audit.LevelError}}})
					return err
				}},
				{"Overview7d", func() error { _, err := a.Overview(ctx, analysis.OverviewRequest{}); return err }},
				{"Overview30d", func() error { _, err := a.Overview(ctx, analysis.OverviewRequest{Since: month}); return err }},
				{"Functions7d", func() error { _, err := a.Functions(ctx, analysis.FunctionsRequest{}); return err }},
				{"Errors7d", func() error { _, err := a.Errors(ctx, analysis.ErrorsRequest{}); return err }},
				{"Errors30d", func() error { _, err := a.Errors(ctx, analysis.ErrorsRequest{Since: month}); return err }},
				{"Perf7d", func() error { _, err := a.Perf(ctx, analysis.PerfRequest{}); return err }},
				{"Patterns30d", func() error { _, err := a.Patterns(ctx, analysis.PatternsRequest{}); return err }},
				{"Unused30d", func() error { _, err := a.Unused(ctx, analysis.UnusedRequest{}); return err }},
				{"History", func() error { _, err := a.History(ctx, analysis.HistoryRequest{Object: obj}); return err }},
			} {
				b.Run(q.name, func(b *testing.B) {
					b.Logf("load average %s", loadAvg())
					for b.Loop() {
						if err := q.fn(); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
				})
			}
		})
	}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// benchStore returns the store of the generated log of n events in schema,
// generating it unless a complete one of the same generator version is
// there.
func benchStore(b *testing.B, schema string, n int) *postgres.Store {
	b.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.DSN(b), postgres.Options{Schema: schema, NoMigrate: true}) // migrated below when generated
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(ctx) })
	db, q := s.DB(), pq.QuoteIdentifier(schema)
	var have int
	if err := db.GetContext(ctx, &have, "SELECT n FROM "+q+".bench_meta WHERE version = $1", benchVersion); err == nil && have == n {
		return s
	}
	b.Logf("generating %d events in schema %s", n, schema)
	start := time.Now()
	if _, err := db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+q+" CASCADE"); err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	gen := newGenerator(n)
	batch := make([]audit.Event, 0, 10_000)
	for i := range n {
		batch = append(batch, gen.event(i))
		if len(batch) == cap(batch) || i == n-1 {
			if err := s.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for _, stmt := range []string{
		"VACUUM ANALYZE " + q + ".events",
		"VACUUM ANALYZE " + q + ".event_parameter_values",
		"ANALYZE " + q + ".event_types",
		"ANALYZE " + q + ".event_parameters",
		"ANALYZE " + q + ".users_sessions",
		"CREATE TABLE " + q + ".bench_meta (version int, n int)",
		fmt.Sprintf("INSERT INTO %s.bench_meta VALUES (%d, %d)", q, benchVersion, n),
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("generated %d events in %s", n, time.Since(start).Round(time.Second))
	return s
}

// generator makes a realistic log: 1,000 users (a fifth of whom join during
// the 90 days; activity skewed to the first users), sessions of about 30
// events per user, 10,000 objects of five kinds, a mix of record types with
// 5 params each, durations on the timed ones, 3% errors grouped in 50
// fingerprints and failed function calls and requests.
type generator struct {
	rng      *rand.Rand
	n        int
	start    time.Time
	step     time.Duration
	joinAt   [1000]time.Duration
	perUser  [1000]int
	routes   []string
	menu     []string
	function []string
}

func newGenerator(n int) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(1, 2)), n: n, start: benchEnd.Add(-90 * 24 * time.Hour)}
	g.step = 90 * 24 * time.Hour / time.Duration(n)
	for u := 800; u < 1000; u++ {
		g.joinAt[u] = time.Duration(g.rng.Int64N(int64(90 * 24 * time.Hour)))
	}
	for i := range 20 {
		g.routes = append(g.routes, fmt.Sprintf("GET /api/r%02d/{id}", i))
	}
	for i := range 200 {
		g.menu = append(g.menu, fmt.Sprintf("Menu|Item %03d", i))
	}
	for i := range 30 {
		g.function = append(g.function, fmt.Sprintf("Fn%02d", i))
	}
	return g
}

// skewed returns an int in [0, n), small ones more likely.
func (g *generator) skewed(n int) int {
	f := g.rng.Float64()
	return int(f * f * float64(n))
}

func (g *generator) object(kind string) audit.Entity {
	switch kind {
	case "query":
		return audit.Ref(kind, fmt.Sprintf("q%04d", g.rng.IntN(3000)))
	case "table":
		return audit.Ref(kind, fmt.Sprintf("t%04d", g.rng.IntN(4000)))
	case "project":
		return audit.Ref(kind, fmt.Sprintf("p%03d", g.rng.IntN(1000)))
	case "connection":
		return audit.Ref(kind, fmt.Sprintf("c%03d", g.rng.IntN(500)))
	}
	return audit.Ref("view", fmt.Sprintf("v%04d", g.rng.IntN(1500)))
}

func (g *generator) ms(base float64) time.Duration {
	return time.Duration(base * math.Exp(g.rng.NormFloat64()*0.7) * float64(time.Millisecond))
}

func (g *generator) event(i int) audit.Event {
	at := time.Duration(i)*g.step + time.Duration(g.rng.Int64N(int64(g.step)))
	u := g.skewed(1000)
	for tries := 0; g.joinAt[u] > at && tries < 20; tries++ {
		u = g.skewed(1000)
	}
	if g.joinAt[u] > at {
		u = 0
	}
	g.perUser[u]++
	e := audit.Event{
		ID:        uuid.Must(uuid.NewV7()),
		Time:      g.start.Add(at),
		Level:     audit.LevelAudit,
		UserID:    fmt.Sprintf("user%03d", u),
		SessionID: fmt.Sprintf("user%03d-%d", u, g.perUser[u]/30),
	}
	p := audit.P
	r := g.rng.IntN(100)
	switch {
	case r < 20:
		e.Type, e.Duration = datagrok.QueryStart, g.ms(80)
		e.Params = []audit.Param{p("connection", g.object("connection")), p("mode", "sync"), p("ms", e.Duration.Milliseconds()),
			p("query", g.object("query")), p("rows", g.rng.IntN(100000))}
	case r < 45:
		e.Type, e.Level, e.Duration = audit.TypeHTTPRequest, audit.LevelUsage, g.ms(15)
		status := 200
		if s := g.rng.IntN(100); s < 3 {
			status = 404
		} else if s < 5 {
			status = 500
		}
		route := g.routes[g.skewed(len(g.routes))]
		e.Params = []audit.Param{p("method", "GET"), p("ms", e.Duration.Milliseconds()), p("object", g.object("table")),
			p("route", route), p("status", status)}
	case r < 60:
		e.Type, e.Duration = audit.TypeFunctionCall, g.ms(5)
		fn := g.function[g.skewed(len(g.function))]
		e.Message = fn
		e.Params = []audit.Param{p("function", fn), p("in.a", g.rng.IntN(100)), p("in.b", g.rng.IntN(100)),
			p("ms", e.Duration.Milliseconds()), p("out.result", g.rng.IntN(10000))}
		if g.rng.IntN(100) < 5 {
			e.Level, e.Message = audit.LevelError, "call failed"
			e.Fingerprint, e.StackTrace = "fp-fn-"+fn, "stack of "+fn
			e.Params[4] = p("error_type", "*errors.errorString")
		}
	case r < 70:
		e.Type, e.Level = datagrok.MainMenuItemClick, audit.LevelUsage
		item := g.menu[g.skewed(len(g.menu))]
		e.Params = []audit.Param{p("item", item), p("menu", "main"), p("position", g.rng.IntN(20)), p("x", g.rng.IntN(1920)), p("y", g.rng.IntN(1080))}
	case r < 75:
		e.Type, e.Duration = datagrok.TableProduced, g.ms(200)
		e.Params = []audit.Param{p("columns", g.rng.IntN(50)), p("ms", e.Duration.Milliseconds()), p("rows", g.rng.IntN(1000000)),
			p("source", g.object("query")), p("table", g.object("table"))}
	case r < 85:
		e.Type, e.Level, e.Duration = datagrok.ViewerRendered, audit.LevelUsage, g.ms(30)
		e.Params = []audit.Param{p("ms", e.Duration.Milliseconds()), p("rows", g.rng.IntN(100000)), p("table", g.object("table")),
			p("theme", "light"), p("viewer", g.object("view"))}
	case r < 90:
		e.Type = datagrok.ProjectOpened
		e.Params = []audit.Param{p("from", "browse"), p("panels", g.rng.IntN(8)), p("project", g.object("project")),
			p("readonly", false), p("version", g.rng.IntN(10))}
	case r < 95:
		e.Type = []string{datagrok.QueryEdited, datagrok.QueryCreated, datagrok.QueryPublished}[g.rng.IntN(3)]
		e.Params = []audit.Param{p("changes", g.rng.IntN(10)), p("connection", g.object("connection")), p("editor", "sql"),
			p("query", g.object("query")), p("version", g.rng.IntN(10))}
	case r < 97:
		e.Type, e.Level = audit.TypeLog, audit.LevelInfo
		e.Message = "housekeeping"
		e.Params = []audit.Param{p("a", 1), p("b", "x"), p("c", true), p("d", 2.5), p("e", "y")}
	default:
		fp := g.skewed(50)
		e.Type, e.Level, e.Message = audit.TypeError, audit.LevelError, fmt.Sprintf("failure %d", fp)
		e.Fingerprint, e.StackTrace = fmt.Sprintf("fp-%02d", fp), fmt.Sprintf("goroutine 1:\nmain.f%d()", fp)
		e.Params = []audit.Param{p("attempt", g.rng.IntN(3)), p("code", 500+fp), p("component", "engine"),
			p("ms", g.rng.IntN(100)), p("object", g.object("table"))}
	}
	return e
}
