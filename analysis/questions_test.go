package analysis_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/datagrok"
)

func testOverview(t *testing.T, fx *fixture) {
	res, err := fx.a.Overview(ctx, analysis.OverviewRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := res
	got.EventsOverTime = nil
	want := analysis.OverviewResult{
		Window:      week,
		Previous:    analysis.Window{Since: day("2025-02-24"), Until: day("2025-03-03")},
		ActiveUsers: analysis.Metric{Current: 5, Previous: 2},
		NewUsers:    analysis.Metric{Current: 2, Previous: 2}, // carol, erin; alice, bob
		Sessions:    analysis.Metric{Current: 6, Previous: 2}, // one a user's implicit session of the day
		Events:      analysis.Metric{Current: 22, Previous: 3},
		Errors:      analysis.Metric{Current: 4, Previous: 1},
		UsersPerDay: []analysis.TimeCount{
			{Start: day("2025-03-03"), Count: 1}, {Start: day("2025-03-04"), Count: 1},
			{Start: day("2025-03-05"), Count: 1}, {Start: day("2025-03-06"), Count: 2},
			{Start: day("2025-03-07"), Count: 0}, {Start: day("2025-03-08"), Count: 1},
			{Start: day("2025-03-09"), Count: 0},
		},
		Bucket: 4 * time.Hour,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Every 4-hour bucket of the week for each level seen: error, audit, usage.
	if n := len(res.EventsOverTime); n != 42*3 {
		t.Errorf("%d level counts, want %d", n, 42*3)
	}
	var nonZero []analysis.LevelCount
	for _, c := range res.EventsOverTime {
		if c.Count > 0 {
			nonZero = append(nonZero, c)
		}
	}
	lc := func(s string, l audit.Level, n int64) analysis.LevelCount {
		return analysis.LevelCount{Start: at(s), Level: l, Count: n}
	}
	wantLevels := []analysis.LevelCount{
		lc("2025-03-03T08:00", errL, 2), lc("2025-03-03T08:00", aud, 2), lc("2025-03-03T08:00", usage, 1),
		lc("2025-03-04T08:00", errL, 1), lc("2025-03-04T08:00", aud, 3), lc("2025-03-04T08:00", usage, 2),
		lc("2025-03-05T08:00", aud, 2), lc("2025-03-05T08:00", usage, 4),
		lc("2025-03-06T08:00", errL, 1), lc("2025-03-06T08:00", aud, 1), lc("2025-03-06T08:00", usage, 1),
		lc("2025-03-08T12:00", aud, 1), lc("2025-03-08T12:00", usage, 1),
	}
	if diff := cmp.Diff(wantLevels, nonZero); diff != "" {
		t.Errorf("events over time (-want +got):\n%s", diff)
	}
	// An explicit bucket.
	res, err = fx.a.Overview(ctx, analysis.OverviewRequest{Bucket: 7 * 24 * time.Hour, Since: day("2025-03-06"), Until: day("2025-03-13")})
	if err != nil {
		t.Fatal(err)
	}
	// 7-day buckets since the epoch (a Thursday): 2025-03-06 starts one.
	if diff := cmp.Diff([]analysis.LevelCount{
		lc("2025-03-06T00:00", errL, 1), lc("2025-03-06T00:00", aud, 2), lc("2025-03-06T00:00", usage, 2),
	}, res.EventsOverTime); diff != "" {
		t.Errorf("weekly (-want +got):\n%s", diff)
	}
}

func testFunctions(t *testing.T, fx *fixture) {
	res, err := fx.a.Functions(ctx, analysis.FunctionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	p := func(k string, v any) audit.Param { return audit.P(k, v) }
	want := analysis.FunctionsResult{
		Window: week,
		Bucket: 4 * time.Hour,
		Functions: []analysis.FunctionStat{
			{Function: "Sum", Calls: 2, Errors: 0, Users: 2, AvgDuration: 6 * time.Millisecond},
			{Function: "Div", Calls: 1, Errors: 1, Users: 1, AvgDuration: time.Millisecond},
		},
		Series: []analysis.FunctionBucket{
			{Function: "Div", User: "bob", Start: at("2025-03-04T08:00"), Calls: 1, Errors: 1},
			{Function: "Sum", User: "bob", Start: at("2025-03-04T08:00"), Calls: 1},
			{Function: "Sum", User: "carol", Start: at("2025-03-05T08:00"), Calls: 1},
		},
		Calls: []analysis.Call{
			{ID: fx.events["C6"].ID, Time: at("2025-03-05T11:05"), User: "carol", SessionID: "s3", Function: "Sum",
				Inputs: []audit.Param{p("a", 2), p("b", 2)}, Outputs: []audit.Param{p("result", 4)}, Duration: 7 * time.Millisecond},
			{ID: fx.events["B6"].ID, Time: at("2025-03-04T10:05"), User: "bob", SessionID: "s2", Function: "Div",
				Inputs: []audit.Param{p("a", 1), p("b", 0)}, Duration: time.Millisecond, Error: "division by zero"},
			{ID: fx.events["B5"].ID, Time: at("2025-03-04T10:04"), User: "bob", SessionID: "s2", Function: "Sum",
				Inputs: []audit.Param{p("a", 1), p("b", 2)}, Outputs: []audit.Param{p("result", 3)}, Duration: 5 * time.Millisecond},
		},
	}
	if diff := cmp.Diff(want, res, cmpopts.EquateComparable(audit.Value{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// One function, a page at a time.
	req := analysis.FunctionsRequest{Function: "Sum", Limit: 1}
	var calls []string
	for {
		res, err := fx.a.Functions(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Functions) != 1 || res.Functions[0].Function != "Sum" || len(res.Series) != 2 {
			t.Errorf("Function filter: stats %+v series %+v", res.Functions, res.Series)
		}
		for _, c := range res.Calls {
			calls = append(calls, fx.names[c.ID])
		}
		if res.Next == "" {
			break
		}
		req.After = res.Next
	}
	if diff := cmp.Diff([]string{"C6", "B5"}, calls); diff != "" {
		t.Errorf("calls of Sum (-want +got):\n%s", diff)
	}
}

func testErrors(t *testing.T, fx *fixture) {
	res, err := fx.a.Errors(ctx, analysis.ErrorsRequest{Horizon: 1, MinSupport: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkOverTime(t, res, map[string]int64{"2025-03-03T08:00": 2, "2025-03-04T08:00": 1, "2025-03-06T08:00": 1})
	base := 3.0 / 18 // 18 non-error events in sessions, 3 followed by an error
	want := analysis.ErrorsResult{
		Window: week,
		Total:  4,
		Groups: []analysis.ErrorGroup{
			{Fingerprint: "fp1", Count: 2, Users: 1, FirstSeen: at("2025-03-03T09:02"), LastSeen: at("2025-03-03T09:04"), Sample: fx.events["A5"]},
			{Count: 1, Users: 1, FirstSeen: at("2025-03-06T08:00"), LastSeen: at("2025-03-06T08:00"), Sample: fx.events["D1"]},
			{Fingerprint: "fp2", Count: 1, Users: 1, FirstSeen: at("2025-03-04T10:05"), LastSeen: at("2025-03-04T10:05"), Sample: fx.events["B6"]},
		},
		Bucket:   4 * time.Hour,
		OverTime: res.OverTime, // checked above
		BaseRate: base,
		Actions: []analysis.Action{
			{Type: datagrok.QueryStart, Count: 3, Followed: 2, Rate: 2.0 / 3, Lift: (2.0 / 3) / base},
			{Type: audit.TypeFunctionCall, Count: 2, Followed: 1, Rate: 0.5, Lift: 0.5 / base},
		},
	}
	if diff := cmp.Diff(want, res, cmpopts.EquateComparable(audit.Value{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The default support (10) ranks nothing in so small a log; a limit
	// keeps the most frequent group.
	res, err = fx.a.Errors(ctx, analysis.ErrorsRequest{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Groups) != 1 || res.Groups[0].Fingerprint != "fp1" || res.Total != 4 || len(res.Actions) != 0 {
		t.Errorf("Limit 1: %+v", res)
	}
}

// checkOverTime checks the errors per 4-hour bucket of the week: the
// buckets at the given times hold the given counts, every other one 0.
func checkOverTime(t *testing.T, res analysis.ErrorsResult, want map[string]int64) {
	t.Helper()
	if res.Bucket != 4*time.Hour || len(res.OverTime) != 42 || !res.OverTime[0].Start.Equal(week.Since.Truncate(4*time.Hour)) {
		t.Fatalf("bucket %s, %d buckets from %v; want 4h, 42 from %v", res.Bucket, len(res.OverTime), res.OverTime[0].Start, week.Since)
	}
	for _, tc := range res.OverTime {
		if n := want[tc.Start.Format("2006-01-02T15:04")]; tc.Count != n {
			t.Errorf("errors at %v: %d, want %d", tc.Start, tc.Count, n)
		}
	}
}

func testErrorsOfFingerprint(t *testing.T, fx *fixture) {
	res, err := fx.a.Errors(ctx, analysis.ErrorsRequest{Fingerprint: "fp1", Horizon: 1, MinSupport: 1})
	if err != nil {
		t.Fatal(err)
	}
	base := 2.0 / 18
	if res.Total != 2 || len(res.Groups) != 1 || res.Groups[0].Fingerprint != "fp1" {
		t.Errorf("groups: total %d %+v", res.Total, res.Groups)
	}
	checkOverTime(t, res, map[string]int64{"2025-03-03T08:00": 2})
	want := []analysis.Action{{Type: datagrok.QueryStart, Count: 3, Followed: 2, Rate: 2.0 / 3, Lift: (2.0 / 3) / base}}
	if diff := cmp.Diff(want, res.Actions); diff != "" || res.BaseRate != base {
		t.Errorf("base rate %v, actions (-want +got):\n%s", res.BaseRate, diff)
	}
	// A longer horizon: A1 (menu) is now followed too (A3 is 2 events on).
	res, err = fx.a.Errors(ctx, analysis.ErrorsRequest{Fingerprint: "fp1", Horizon: 2, MinSupport: 1})
	if err != nil {
		t.Fatal(err)
	}
	base = 3.0 / 18
	want = []analysis.Action{
		{Type: datagrok.QueryStart, Count: 3, Followed: 2, Rate: 2.0 / 3, Lift: (2.0 / 3) / base},
		{Type: datagrok.MainMenuItemClick, Count: 4, Followed: 1, Rate: 0.25, Lift: 0.25 / base},
	}
	if diff := cmp.Diff(want, res.Actions); diff != "" {
		t.Errorf("horizon 2 (-want +got):\n%s", diff)
	}
}

func testPerf(t *testing.T, fx *fixture) {
	res, err := fx.a.Perf(ctx, analysis.PerfRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ms := func(f float64) time.Duration { return time.Duration(math.Round(f * 1e6)) }
	want := analysis.PerfResult{
		Window: week,
		Types: []analysis.PerfStat{
			{Name: "http-request", Count: 4, P50: ms(25), P95: ms(38.5), P99: ms(39.7)},
			{Name: "function-call", Count: 3, Errors: 1, ErrorRate: 1.0 / 3, P50: ms(5), P95: ms(6.8), P99: ms(6.96)},
			{Name: "query-start", Count: 3, P50: ms(200), P95: ms(290), P99: ms(298)},
		},
		Routes: []analysis.PerfStat{
			{Name: "GET /items/{id}", Method: "GET", Count: 3, Errors: 1, ErrorRate: 1.0 / 3, P50: ms(20), P95: ms(29), P99: ms(29.8)},
			{Name: "POST /items", Method: "POST", Count: 1, Errors: 1, ErrorRate: 1, P50: ms(40), P95: ms(40), P99: ms(40)},
		},
		Bucket: 4 * time.Hour,
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	res, err = fx.a.Perf(ctx, analysis.PerfRequest{Types: []string{datagrok.QueryStart}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Types) != 1 || res.Types[0].Name != datagrok.QueryStart || len(res.Routes) != 2 {
		t.Errorf("Types filter: %+v", res)
	}
}

func testUnused(t *testing.T, fx *fixture) {
	res, err := fx.a.Unused(ctx, analysis.UnusedRequest{Since: week.Since, Types: []string{"my-feature"}, Items: []string{"Tools|Export", "File|Open"}})
	if err != nil {
		t.Fatal(err)
	}
	used := []analysis.Count{
		{Key: "entity-shared", Count: 1}, {Key: "query-edited", Count: 1}, {Key: "viewer-rendered", Count: 1},
		{Key: "table-produced", Count: 2},
		{Key: "error", Count: 3}, {Key: "function-call", Count: 3}, {Key: "query-start", Count: 3},
		{Key: "http-request", Count: 4}, {Key: "main-menu-item-click", Count: 4},
	}
	known := append(datagrok.RecordTypes(), audit.TypeHTTPRequest, audit.TypeFunctionCall, "my-feature")
	var want []analysis.Count
	for _, k := range known {
		if !slices.ContainsFunc(used, func(c analysis.Count) bool { return c.Key == k }) {
			want = append(want, analysis.Count{Key: k})
		}
	}
	slices.SortFunc(want, func(a, b analysis.Count) int { return cmpString(a.Key, b.Key) })
	want = append(want, used...)
	if diff := cmp.Diff(want, res.Types); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	// Tools|Export is known to the application and never clicked.
	wantItems := []analysis.Count{{Key: "Edit|Undo"}, {Key: "Tools|Export"}, {Key: "Help|About", Count: 1}, {Key: "File|Open", Count: 3}}
	if diff := cmp.Diff(wantItems, res.MenuItems); diff != "" {
		t.Errorf("menu items (-want +got):\n%s", diff)
	}
	// The default window (30 days) sees Edit|Undo; a limit keeps the least used.
	res, err = fx.a.Unused(ctx, analysis.UnusedRequest{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]analysis.Count{{Key: "Edit|Undo", Count: 1}, {Key: "Help|About", Count: 1}}, res.MenuItems); diff != "" || len(res.Types) != 2 {
		t.Errorf("default window, limit 2: %d types, items (-want +got):\n%s", len(res.Types), diff)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testHistory(t *testing.T, fx *fixture) {
	type summary struct {
		Origin        string
		Sources       []audit.Entity
		Modifications []string
		Derived       []string
		Products      [][]audit.Entity
		Events        int
	}
	sum := func(r analysis.HistoryResult) summary {
		s := summary{Events: r.Events, Modifications: fx.nameList(r.Modifications), Derived: []string{}}
		if r.Origin != nil {
			s.Origin, s.Sources = fx.names[r.Origin.Event.ID], r.Origin.Sources
		}
		for _, d := range r.Derived {
			s.Derived = append(s.Derived, fx.names[d.Event.ID])
			s.Products = append(s.Products, d.Products)
		}
		return s
	}
	for _, tc := range []struct {
		obj  audit.Entity
		want summary
	}{
		{t1, summary{Origin: "B3", Sources: []audit.Entity{q1}, Modifications: []string{"C5"},
			Derived: []string{"D2"}, Products: [][]audit.Entity{{t2}}, Events: 4}},
		{q1, summary{Origin: "E1", Sources: []audit.Entity{c1}, Modifications: []string{"B4"},
			Derived: []string{"B3"}, Products: [][]audit.Entity{{t1}}, Events: 5}},
		{t2, summary{Origin: "D2", Sources: []audit.Entity{t1}, Modifications: []string{}, Derived: []string{}, Events: 1}},
		{q2, summary{Modifications: []string{}, Derived: []string{}, Events: 1}},
	} {
		res, err := fx.a.History(ctx, analysis.HistoryRequest{Object: tc.obj})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, sum(res)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.obj, diff)
		}
	}
	res, err := fx.a.History(ctx, analysis.HistoryRequest{Object: q1, Since: day("2025-03-01")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Origin != nil || res.Events != 4 {
		t.Errorf("since 03-01: origin %v, %d events", res.Origin, res.Events)
	}
}

func testInvalid(t *testing.T, fx *fixture) {
	later := analysis.ActivityRequest{Object: q1, Since: now, Until: now.Add(-time.Hour)}
	for name, call := range map[string]func() error{
		"activity window": func() error { _, err := fx.a.Activity(ctx, later); return err },
		"activity object": func() error { _, err := fx.a.Activity(ctx, analysis.ActivityRequest{}); return err },
		"activity limit": func() error {
			_, err := fx.a.Activity(ctx, analysis.ActivityRequest{Object: q1, Limit: -1})
			return err
		},
		"usage object":     func() error { _, err := fx.a.Usage(ctx, analysis.UsageRequest{Object: &audit.Entity{}}); return err },
		"overview bucket":  func() error { _, err := fx.a.Overview(ctx, analysis.OverviewRequest{Bucket: -1}); return err },
		"errors horizon":   func() error { _, err := fx.a.Errors(ctx, analysis.ErrorsRequest{Horizon: -1}); return err },
		"patterns k":       func() error { _, err := fx.a.Patterns(ctx, analysis.PatternsRequest{K: -1}); return err },
		"history object":   func() error { _, err := fx.a.History(ctx, analysis.HistoryRequest{}); return err },
		"unused limit":     func() error { _, err := fx.a.Unused(ctx, analysis.UnusedRequest{Limit: -1}); return err },
		"feed limit":       func() error { _, err := fx.a.Feed(ctx, analysis.FeedRequest{Limit: -1}); return err },
		"feed param":       func() error { _, err := fx.a.Feed(ctx, analysis.FeedRequest{Param: "route"}); return err },
		"functions bucket": func() error { _, err := fx.a.Functions(ctx, analysis.FunctionsRequest{Bucket: -1}); return err },
	} {
		if err := call(); !errors.Is(err, analysis.ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, err)
		}
	}
	if _, err := fx.a.Feed(ctx, analysis.FeedRequest{After: "nope"}); !errors.Is(err, audit.ErrInvalidCursor) {
		t.Errorf("bad cursor: %v, want ErrInvalidCursor", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := fx.a.Overview(cctx, analysis.OverviewRequest{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

func testPerfOverTime(t *testing.T, fx *fixture) {
	all, err := fx.a.Perf(ctx, analysis.PerfRequest{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := fx.a.Perf(ctx, analysis.PerfRequest{OverTime: true})
	if err != nil {
		t.Fatal(err)
	}
	ms := func(f float64) time.Duration { return time.Duration(math.Round(f * 1e6)) }
	// The function calls: B5 (5 ms) and B6 (1 ms, an error) on the 4th
	// from 08:00, C6 (7 ms) on the 5th.
	var calls []analysis.PerfBucket
	for _, b := range res.OverTime {
		if !b.Route && b.Name == audit.TypeFunctionCall {
			calls = append(calls, b)
		}
	}
	want := []analysis.PerfBucket{
		{Start: at("2025-03-04T08:00"), PerfStat: analysis.PerfStat{Name: "function-call", Count: 2, Errors: 1, ErrorRate: 0.5, P50: ms(3), P95: ms(4.8), P99: ms(4.96)}},
		{Start: at("2025-03-05T08:00"), PerfStat: analysis.PerfStat{Name: "function-call", Count: 1, P50: ms(7), P95: ms(7), P99: ms(7)}},
	}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("function calls over time (-want +got):\n%s", diff)
	}
	// The buckets add up to the window's stats; routes come first; a stat
	// in one bucket is the window's.
	type key struct {
		route        bool
		name, method string
	}
	sums := map[key]analysis.PerfStat{}
	buckets := map[key]int{}
	routes := true
	for _, b := range res.OverTime {
		if b.Route && !routes {
			t.Errorf("route %s after the record types", b.Name)
		}
		routes = b.Route
		if b.Start.Before(week.Since) || !b.Start.Before(week.Until) || b.Start.Sub(at("2025-03-03T00:00"))%res.Bucket != 0 {
			t.Errorf("%s: bucket %v not one of the window's %v buckets", b.Name, b.Start, res.Bucket)
		}
		k := key{b.Route, b.Name, b.Method}
		s := sums[k]
		s.Name, s.Method, s.Count, s.Errors = b.Name, b.Method, s.Count+b.Count, s.Errors+b.Errors
		s.P50, s.P95, s.P99, s.ErrorRate = b.P50, b.P95, b.P99, b.ErrorRate
		sums[k] = s
		buckets[k]++
	}
	for _, x := range []struct {
		route bool
		stats []analysis.PerfStat
	}{{true, all.Routes}, {false, all.Types}} {
		for _, st := range x.stats {
			k := key{x.route, st.Name, st.Method}
			got := sums[k]
			if buckets[k] > 1 {
				got.P50, got.P95, got.P99, got.ErrorRate = st.P50, st.P95, st.P99, st.ErrorRate
			}
			if diff := cmp.Diff(st, got); diff != "" {
				t.Errorf("%+v over time (-window +buckets):\n%s", k, diff)
			}
			delete(sums, k)
		}
	}
	if len(sums) > 0 {
		t.Errorf("over time but not in the window: %+v", sums)
	}
	if all.OverTime != nil {
		t.Errorf("OverTime without asking: %+v", all.OverTime)
	}
}
