package analysis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/pgtest"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, func() error { return goleak.Find() })
}

var ctx = context.Background()

func day(s string) time.Time { return at(s + "T00:00") }

func TestAnalysis(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, fx *fixture) {
		for _, tt := range []struct {
			name string
			fn   func(*testing.T, *fixture)
		}{
			{"Activity", testActivity},
			{"Usage", testUsage},
			{"UsageOfObject", testUsageOfObject},
			{"UsageByPackage", testUsageByPackage},
			{"Scope", testScope},
			{"Feed", testFeed},
			{"FeedPages", testFeedPages},
			{"Event", testEvent},
			{"Overview", testOverview},
			{"Functions", testFunctions},
			{"Errors", testErrors},
			{"ErrorsOfFingerprint", testErrorsOfFingerprint},
			{"Perf", testPerf},
			{"PerfOverTime", testPerfOverTime},
			{"Unused", testUnused},
			{"History", testHistory},
			{"InvalidRequests", testInvalid},
			{"Follow", testFollow}, // last: it writes events
		} {
			t.Run(tt.name, func(t *testing.T) { tt.fn(t, fx) })
		}
	})
}

func testActivity(t *testing.T, fx *fixture) {
	res, err := fx.a.Activity(ctx, analysis.ActivityRequest{Object: q1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Window != week {
		t.Errorf("window %v, want %v", res.Window, week)
	}
	if diff := cmp.Diff([]string{"B4", "B3", "A4", "A2"}, fx.nameList(res.Events)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// The events come whole, params included.
	if diff := cmp.Diff(fx.events["B3"], res.Events[1], cmpopts.EquateComparable(audit.Value{})); diff != "" {
		t.Errorf("B3 (-want +got):\n%s", diff)
	}
	// Any kind, a wrong kind, a longer window, a limit.
	for _, tc := range []struct {
		req  analysis.ActivityRequest
		want []string
		more bool
	}{
		{analysis.ActivityRequest{Object: audit.Ref("", "q1")}, []string{"B4", "B3", "A4", "A2"}, false},
		{analysis.ActivityRequest{Object: audit.Ref("table", "q1")}, []string{}, false},
		{analysis.ActivityRequest{Object: q1, Since: day("2025-01-01")}, []string{"B4", "B3", "A4", "A2", "E1"}, false},
		{analysis.ActivityRequest{Object: q1, Limit: 2}, []string{"B4", "B3"}, true},
		// Bounds finer than the stores' microseconds.
		{analysis.ActivityRequest{Object: q1, Since: at("2025-03-03T09:01").Add(time.Nanosecond)}, []string{"B4", "B3", "A4"}, false},
		{analysis.ActivityRequest{Object: q1, Until: at("2025-03-04T10:02").Add(time.Nanosecond)}, []string{"B3", "A4", "A2"}, false},
	} {
		res, err := fx.a.Activity(ctx, tc.req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, fx.nameList(res.Events)); diff != "" || res.Truncated != tc.more {
			t.Errorf("%+v: truncated %v, events (-want +got):\n%s", tc.req, res.Truncated, diff)
		}
	}
}

func testUsage(t *testing.T, fx *fixture) {
	res, err := fx.a.Usage(ctx, analysis.UsageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := analysis.UsageResult{
		Window: week,
		Total:  22,
		ByType: []analysis.Count{
			{Key: "http-request", Count: 4}, {Key: "main-menu-item-click", Count: 4},
			{Key: "error", Count: 3}, {Key: "function-call", Count: 3}, {Key: "query-start", Count: 3},
			{Key: "table-produced", Count: 2},
			{Key: "entity-shared", Count: 1}, {Key: "query-edited", Count: 1}, {Key: "viewer-rendered", Count: 1},
		},
		ByUser: []analysis.Count{
			{Key: "carol", Count: 7}, {Key: "bob", Count: 6}, {Key: "alice", Count: 5},
			{Key: "dave", Count: 2}, {Key: "erin", Count: 2},
		},
		ByDay: []analysis.TimeCount{
			{Start: day("2025-03-03"), Count: 5}, {Start: day("2025-03-04"), Count: 6},
			{Start: day("2025-03-05"), Count: 6}, {Start: day("2025-03-06"), Count: 3},
			{Start: day("2025-03-07"), Count: 0}, {Start: day("2025-03-08"), Count: 2},
			{Start: day("2025-03-09"), Count: 0},
		},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func testUsageByPackage(t *testing.T, fx *fixture) {
	res, err := fx.a.Usage(ctx, analysis.UsageRequest{Packages: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []analysis.PackageUsage{
		{Package: "math", Events: 3, Users: 2, Functions: []analysis.Count{{Key: "Sum", Count: 2}, {Key: "Div", Count: 1}}},
		{Package: "web", Events: 1, Users: 1, Functions: []analysis.Count{}},
	}
	if diff := cmp.Diff(want, res.ByPackage); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	res, err = fx.a.Usage(ctx, analysis.UsageRequest{Packages: true, Scope: analysis.Scope{Users: []string{"carol"}}})
	if err != nil {
		t.Fatal(err)
	}
	want = []analysis.PackageUsage{
		{Package: "math", Events: 1, Users: 1, Functions: []analysis.Count{{Key: "Sum", Count: 1}}},
		{Package: "web", Events: 1, Users: 1, Functions: []analysis.Count{}},
	}
	if diff := cmp.Diff(want, res.ByPackage); diff != "" {
		t.Errorf("carol's (-want +got):\n%s", diff)
	}
}

// testScope checks the scope of a question: users, levels, groups by
// Options.Groups and by the store's directory.
func testScope(t *testing.T, fx *fixture) {
	dir, ok := fx.store.(audit.Directory)
	if !ok {
		t.Fatalf("%T keeps no directory", fx.store)
	}
	for _, g := range []audit.Group{{ID: "dir-team"}, {ID: "dir-sub"}} {
		if err := dir.PutGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := dir.SetMembers(ctx, "dir-sub", []string{"erin"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := dir.SetMembers(ctx, "dir-team", []string{"dave"}, []string{"dir-sub"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		scope  analysis.Scope
		total  int64
		byUser []analysis.Count
	}{
		{"users", analysis.Scope{Users: []string{"carol", "erin"}}, 9, []analysis.Count{{Key: "carol", Count: 7}, {Key: "erin", Count: 2}}},
		{"levels", analysis.Scope{Levels: []audit.Level{audit.LevelError}}, 4,
			[]analysis.Count{{Key: "alice", Count: 2}, {Key: "bob", Count: 1}, {Key: "carol", Count: 1}}},
		{"group", analysis.Scope{Groups: []string{"sales"}}, 9, []analysis.Count{{Key: "carol", Count: 7}, {Key: "dave", Count: 2}}},
		{"group and user", analysis.Scope{Groups: []string{"sales"}, Users: []string{"dave", "bob"}}, 2, []analysis.Count{{Key: "dave", Count: 2}}},
		{"group and level", analysis.Scope{Groups: []string{"eng"}, Levels: []audit.Level{audit.LevelError}}, 3,
			[]analysis.Count{{Key: "alice", Count: 2}, {Key: "bob", Count: 1}}},
		{"directory group, nested", analysis.Scope{Groups: []string{"dir-team"}}, 4, []analysis.Count{{Key: "dave", Count: 2}, {Key: "erin", Count: 2}}},
		{"no member", analysis.Scope{Groups: []string{"nobody"}}, 0, []analysis.Count{}},
	} {
		res, err := fx.a.Usage(ctx, analysis.UsageRequest{Scope: tc.scope})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != tc.total {
			t.Errorf("%s: %d events, want %d", tc.name, res.Total, tc.total)
		}
		if diff := cmp.Diff(tc.byUser, res.ByUser); diff != "" {
			t.Errorf("%s: by user (-want +got):\n%s", tc.name, diff)
		}
		// The other questions keep the same events.
		ov, err := fx.a.Overview(ctx, analysis.OverviewRequest{Scope: tc.scope})
		if err != nil {
			t.Fatal(err)
		}
		if ov.Events.Current != tc.total || ov.ActiveUsers.Current != int64(len(tc.byUser)) {
			t.Errorf("%s: overview %d events of %d users, want %d of %d", tc.name, ov.Events.Current, ov.ActiveUsers.Current, tc.total, len(tc.byUser))
		}
		feed, err := fx.a.Feed(ctx, analysis.FeedRequest{Scope: tc.scope, Since: week.Since, Until: week.Until})
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(feed.Events)) != tc.total {
			t.Errorf("%s: feed of %d events, want %d", tc.name, len(feed.Events), tc.total)
		}
	}
}

func testUsageOfObject(t *testing.T, fx *fixture) {
	obj := t1
	res, err := fx.a.Usage(ctx, analysis.UsageRequest{Object: &obj, Since: day("2025-03-04"), Until: day("2025-03-07")})
	if err != nil {
		t.Fatal(err)
	}
	want := analysis.UsageResult{
		Object: &obj,
		Window: analysis.Window{Since: day("2025-03-04"), Until: day("2025-03-07")},
		Total:  4,
		ByType: []analysis.Count{{Key: "table-produced", Count: 2}, {Key: "entity-shared", Count: 1}, {Key: "viewer-rendered", Count: 1}},
		ByUser: []analysis.Count{{Key: "dave", Count: 2}, {Key: "bob", Count: 1}, {Key: "carol", Count: 1}},
		ByDay: []analysis.TimeCount{
			{Start: day("2025-03-04"), Count: 1}, {Start: day("2025-03-05"), Count: 1}, {Start: day("2025-03-06"), Count: 2},
		},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func testFeed(t *testing.T, fx *fixture) {
	all := []string{"F2", "F1", "D3", "D2", "D1", "C6", "C5", "C4", "C3", "C2", "C1",
		"B6", "B5", "B4", "B3", "B2", "B1", "A5", "A4", "A3", "A2", "A1", "E3", "E2", "E1", "E0"}
	for _, tc := range []struct {
		name string
		req  analysis.FeedRequest
		want []string
	}{
		{"all", analysis.FeedRequest{}, all},
		{"errors", analysis.FeedRequest{Scope: analysis.Scope{Levels: []audit.Level{audit.LevelError}}}, []string{"D1", "B6", "A5", "A3", "E3"}},
		{"types", analysis.FeedRequest{Types: []string{datagrok.QueryStart, datagrok.QueryEdited}}, []string{"F2", "B4", "A4", "A2"}},
		{"users", analysis.FeedRequest{Scope: analysis.Scope{Users: []string{"erin", "dave"}}}, []string{"F2", "F1", "D3", "D2", "E0"}},
		{"group", analysis.FeedRequest{Scope: analysis.Scope{Groups: []string{"sales"}}}, []string{"D3", "D2", "D1", "C6", "C5", "C4", "C3", "C2", "C1", "E0"}},
		{"group and user", analysis.FeedRequest{Scope: analysis.Scope{Groups: []string{"sales"}, Users: []string{"dave", "bob"}}}, []string{"D3", "D2", "E0"}},
		{"empty group", analysis.FeedRequest{Scope: analysis.Scope{Groups: []string{"nobody"}}}, []string{}},
		{"window", analysis.FeedRequest{Since: at("2025-03-05T11:03"), Until: day("2025-03-06"), Scope: analysis.Scope{Levels: []audit.Level{audit.LevelAudit}}},
			[]string{"C6", "C5"}},
		{"text", analysis.FeedRequest{Text: "TimeOut"}, []string{"A5", "A3"}},
		{"text wildcard", analysis.FeedRequest{Text: "%"}, []string{}},
		{"param value", analysis.FeedRequest{Param: "route", Value: "POST /items"}, []string{"C4"}},
		{"any param value", analysis.FeedRequest{Value: "File|Open"}, []string{"F1", "B1", "A1"}},
		{"value of another param", analysis.FeedRequest{Param: "method", Value: "File|Open"}, []string{}},
		{"nanosecond bounds", analysis.FeedRequest{Since: at("2025-03-05T11:04").Add(-time.Nanosecond), Until: at("2025-03-05T11:05").Add(time.Nanosecond)},
			[]string{"C6", "C5"}},
	} {
		page, err := fx.a.Feed(ctx, tc.req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, fx.nameList(page.Events)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
		if page.Next != "" {
			t.Errorf("%s: Next = %q on the only page", tc.name, page.Next)
		}
	}
}

func testEvent(t *testing.T, fx *fixture) {
	want := fx.events["B5"]
	e, err := fx.a.Event(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Message != "Sum" || len(e.Params) != len(want.Params) || e.UserID != "bob" {
		t.Errorf("Event(B5) = %+v, want %+v", e, want)
	}
	if _, err := fx.a.Event(ctx, uuid.New()); !errors.Is(err, analysis.ErrNotFound) {
		t.Errorf("Event(unknown id) = %v, want ErrNotFound", err)
	}
}

func testFeedPages(t *testing.T, fx *fixture) {
	req := analysis.FeedRequest{Scope: analysis.Scope{Levels: []audit.Level{audit.LevelError}}, Limit: 2}
	var got [][]string
	for {
		page, err := fx.a.Feed(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fx.nameList(page.Events))
		if len(got) == 1 {
			if want := audit.EncodeCursor(page.Events[0].Time, page.Events[0].ID); page.Head != want {
				t.Errorf("Head = %q, want the newest event's position %q", page.Head, want)
			}
		}
		if page.Next == "" {
			break
		}
		req.After = page.Next
	}
	if diff := cmp.Diff([][]string{{"D1", "B6"}, {"A5", "A3"}, {"E3"}}, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}

func testFollow(t *testing.T, fx *fixture) {
	// Follow from the head of the errors' feed; then two errors and an
	// event of another level arrive.
	req := analysis.FeedRequest{Scope: analysis.Scope{Levels: []audit.Level{audit.LevelError}}}
	page, err := fx.a.Feed(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	req.From = page.Head
	late := []named{
		ev("L1", "2025-03-09T10:00", "erin", "s5", errL, audit.TypeError, "late 1", nil),
		ev("L2", "2025-03-09T10:01", "erin", "s5", aud, audit.TypeLog, "not an error", nil),
		ev("L3", "2025-03-09T10:02", "erin", "s5", errL, audit.TypeError, "late 2", nil),
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- fx.a.Follow(cctx, req, func(e audit.Event) error {
			got = append(got, e.Message)
			if len(got) == 2 {
				cancel()
			}
			return nil
		})
	}()
	for _, n := range late {
		if err := fx.store.Write(ctx, []audit.Event{n.e}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow returned %v, want context.Canceled", err)
	}
	if diff := cmp.Diff([]string{"late 1", "late 2"}, got); diff != "" {
		t.Errorf("followed (-want +got):\n%s", diff)
	}
	// Without From, Follow starts after the newest matching event: the
	// past is not delivered.
	cctx2, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	err = fx.a.Follow(cctx2, analysis.FeedRequest{Scope: analysis.Scope{Users: []string{"erin"}}}, func(e audit.Event) error {
		t.Errorf("delivered %s from the past", e.Message)
		return nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Follow returned %v, want context.DeadlineExceeded", err)
	}
	// fn's error stops Follow and is returned.
	stop := errors.New("stop")
	err = fx.a.Follow(ctx, analysis.FeedRequest{Scope: analysis.Scope{Users: []string{"erin"}}, From: page.Head}, func(e audit.Event) error {
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Follow returned %v, want fn's error", err)
	}
}
