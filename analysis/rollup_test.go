package analysis_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
)

// rollupCorpus returns a few thousand events over the 90 days before
// benchEnd (the benchmark's generator: users joining over time, sessions,
// record types of every kind, durations, errors in fingerprints, failed
// calls and requests), plus events the generator has none of: without a
// user or a session, errors without a stack, durations from the ms param
// alone, debug and warning levels.
func rollupCorpus(n int) []audit.Event {
	gen := newGenerator(n)
	var out []audit.Event
	for i := range n {
		out = append(out, gen.event(i))
	}
	for i := range 200 {
		e := audit.Event{ID: uuid.Must(uuid.NewV7()), Time: benchEnd.Add(-time.Duration(i) * 97 * time.Minute), Type: "job", Level: audit.LevelInfo}
		switch i % 5 {
		case 0:
			e.Level, e.Message = audit.LevelError, []string{"disk full", "timeout"}[i%2]
		case 1:
			e.Params = []audit.Param{audit.P(audit.MSParam, 10+i)}
			e.SessionID = "batch"
		case 2:
			e.Level, e.UserID = audit.LevelDebug, "robot"
		case 3:
			e.Level, e.UserID, e.SessionID = audit.LevelWarning, "robot", "robot-1"
		}
		out = append(out, e)
	}
	return out
}

// TestRollupsMatchEvents builds the rollups of a generated log and asks
// every window question both ways, from the rollups and from the events
// alone: the answers are the same, but for the percentiles of Perf's
// record types, which come from DDSketches and are checked to be within
// the sketch's relative accuracy (1%) of a duration of the rank asked for.
func TestRollupsMatchEvents(t *testing.T) {
	t.Parallel()
	// Not on an hour: the windows have partial hours at both edges.
	clock := benchEnd.Add(-3*time.Hour - 17*time.Minute - 13*time.Second)
	s, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{Schema: pgtest.Schema(t), Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	events := rollupCorpus(4000)
	if err := s.Write(ctx, events); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.RebuildRollups(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuilt in %s", time.Since(start))
	opts := analysis.Options{Now: func() time.Time { return clock }, Groups: analysis.GroupMap(map[string][]string{"user001": {"g"}, "user004": {"g"}})}
	rolled, err := analysis.New(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.NoRollups = true
	raw, err := analysis.New(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	windows := []analysis.Window{
		{}, // each question's default
		{Since: clock.Add(-40 * 24 * time.Hour), Until: clock},                                              // days, hours and raw edges
		{Since: benchEnd.Add(-50*24*time.Hour + 90*time.Minute), Until: benchEnd.Add(-20 * 24 * time.Hour)}, // within the rollups
		{Since: benchEnd.Add(-100 * 24 * time.Hour), Until: benchEnd.Add(-85*24*time.Hour - 7*time.Second)}, // partly before the first event
		{Since: clock.Add(-2 * time.Hour), Until: clock.Add(time.Hour)},                                     // beyond the rollups
	}
	defer checkRead(t, s, rolled, raw, windows[1])
	// The scopes: those the rollups a question reads keep (users, levels)
	// are answered from them, the others from the events.
	scopes := []analysis.Scope{
		{},
		{Users: []string{"user001", "user002", ""}},
		{Levels: []audit.Level{audit.LevelError, audit.LevelDebug}},
		{Users: []string{"user001", "robot"}, Levels: []audit.Level{audit.LevelInfo, audit.LevelWarning}},
		{Groups: []string{"g"}},
		{Groups: []string{"nobody"}},
	}
	for i, w := range windows {
		for j, sc := range scopes {
			if j > 0 && i != 1 {
				continue // scoped: the window of days, hours and raw edges
			}
			checkWindow(t, rolled, raw, events, w, sc)
		}
	}
}

// checkWindow asks every window question of w in the scope sc from the
// rollups (rolled) and from the events (raw): the answers are the same.
func checkWindow(t *testing.T, rolled, raw *analysis.Analyzer, events []audit.Event, w analysis.Window, sc analysis.Scope) {
	t.Helper()
	{
		check := func(name string, ask func(a *analysis.Analyzer) (any, error)) {
			t.Helper()
			want, err := ask(raw)
			if err != nil {
				t.Fatalf("%s %v %+v: events: %v", name, w, sc, err)
			}
			got, err := ask(rolled)
			if err != nil {
				t.Fatalf("%s %v %+v: rollups: %v", name, w, sc, err)
			}
			if d := cmp.Diff(want, got, cmpopts.EquateComparable(audit.Value{})); d != "" {
				t.Errorf("%s %v %+v: rollups and events differ (-events +rollups):\n%s", name, w, sc, d)
			}
		}
		for _, b := range []time.Duration{0, 24 * time.Hour} {
			check("overview", func(a *analysis.Analyzer) (any, error) {
				return a.Overview(ctx, analysis.OverviewRequest{Since: w.Since, Until: w.Until, Bucket: b, Scope: sc})
			})
		}
		check("usage", func(a *analysis.Analyzer) (any, error) {
			return a.Usage(ctx, analysis.UsageRequest{Since: w.Since, Until: w.Until, Scope: sc})
		})
		check("unused", func(a *analysis.Analyzer) (any, error) {
			return a.Unused(ctx, analysis.UnusedRequest{Since: w.Since, Until: w.Until, Scope: sc})
		})
		check("patterns", func(a *analysis.Analyzer) (any, error) {
			return a.Patterns(ctx, analysis.PatternsRequest{Since: w.Since, Until: w.Until, Scope: sc})
		})
		for _, fp := range []string{"", "fp-01"} {
			check("errors", func(a *analysis.Analyzer) (any, error) {
				return a.Errors(ctx, analysis.ErrorsRequest{Since: w.Since, Until: w.Until, Fingerprint: fp, Limit: 100, Scope: sc})
			})
		}
		for _, types := range [][]string{nil, {audit.TypeFunctionCall, "job"}} {
			check("perf", func(a *analysis.Analyzer) (any, error) {
				res, err := a.Perf(ctx, analysis.PerfRequest{Since: w.Since, Until: w.Until, Types: types, Scope: sc})
				if err != nil || a != rolled || len(sc.Users)+len(sc.Groups) > 0 {
					return res, err // a user scope reads the events: exact
				}
				checkSketched(t, events, res, types, sc)
				return res, nil
			})
		}
	}
}

// TestRollupsMatchEvents would pass if the rollups were never read: this
// part checks they are, by changing daily rows.
func checkRead(t *testing.T, s *postgres.Store, rolled, raw *analysis.Analyzer, w analysis.Window) {
	t.Helper()
	if _, err := s.DB().ExecContext(ctx, "UPDATE "+pq.QuoteIdentifier(s.Schema())+".rollup_types SET n = n + 1000 WHERE width = 24 AND bucket = $1",
		w.Since.Truncate(24*time.Hour).Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := rolled.Usage(ctx, analysis.UsageRequest{Since: w.Since, Until: w.Until})
	if err != nil {
		t.Fatal(err)
	}
	want, err := raw.Usage(ctx, analysis.UsageRequest{Since: w.Since, Until: w.Until})
	if err != nil {
		t.Fatal(err)
	}
	if got.Total <= want.Total {
		t.Errorf("usage reads no rollups: %d events, %d from the events alone", got.Total, want.Total)
	}
	if _, err := s.DB().ExecContext(ctx, "UPDATE "+pq.QuoteIdentifier(s.Schema())+".rollup_routes SET n = n + 1000 WHERE width = 24 AND bucket = $1",
		w.Since.Truncate(24*time.Hour).Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	requests := func(a *analysis.Analyzer) (n int64) {
		res, err := a.Perf(ctx, analysis.PerfRequest{Since: w.Since, Until: w.Until})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Routes {
			n += r.Count
		}
		return n
	}
	if got, want := requests(rolled), requests(raw); got <= want {
		t.Errorf("perf reads no route rollups: %d requests, %d from the events alone", got, want)
	}
}

// checkSketched checks the percentiles of res.Types and res.Routes against
// the durations of events, then sets them to what the events give
// (percentile_cont), so that the rest of res can be compared.
func checkSketched(t *testing.T, events []audit.Event, res analysis.PerfResult, types []string, sc analysis.Scope) {
	t.Helper()
	durs := map[string][]float64{}
	for i := range events {
		e := &events[i]
		if e.Time.Before(res.Window.Since) || !e.Time.Before(res.Window.Until) || (sc.Levels != nil && !slices.Contains(sc.Levels, e.Level)) {
			continue
		}
		d, ok := analysis.Duration(e)
		if !ok {
			continue
		}
		if types == nil || slices.Contains(types, e.Type) {
			durs["type "+e.Type] = append(durs["type "+e.Type], float64(d))
		}
		var route, method string
		for _, p := range e.Params {
			switch p.Key {
			case "route":
				route = p.Value.String()
			case "method":
				method = p.Value.String()
			}
		}
		if e.Type == audit.TypeHTTPRequest && route != "" {
			k := "route " + method + " " + route
			durs[k] = append(durs[k], float64(d))
		}
	}
	type sketched struct {
		key string
		st  *analysis.PerfStat
	}
	var all []sketched
	for i := range res.Types {
		all = append(all, sketched{"type " + res.Types[i].Name, &res.Types[i]})
	}
	for i := range res.Routes {
		all = append(all, sketched{"route " + res.Routes[i].Method + " " + res.Routes[i].Name, &res.Routes[i]})
	}
	for _, x := range all {
		st := x.st
		sorted := durs[x.key]
		if len(sorted) == 0 {
			t.Fatalf("perf %s: no durations in the log", x.key)
		}
		slices.Sort(sorted)
		for _, p := range []struct {
			q   float64
			got *time.Duration
		}{{0.5, &st.P50}, {0.95, &st.P95}, {0.99, &st.P99}} {
			rank := p.q * float64(len(sorted)-1)
			lo, hi := sorted[int(math.Floor(rank))], sorted[int(math.Ceil(rank))]
			if g := float64(*p.got); g < lo*(1-driver.SketchAccuracy)-1 || g > hi*(1+driver.SketchAccuracy)+1 {
				t.Errorf("perf %s p%v: %v, not within 1%% of [%v, %v]", st.Name, p.q*100, *p.got, time.Duration(lo), time.Duration(hi))
			}
			frac := rank - math.Floor(rank)
			*p.got = time.Duration(math.Round(lo + frac*(hi-lo)))
		}
	}
}
