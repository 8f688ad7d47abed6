package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
)

// question is the common part of the commands that ask the Analyzer: the
// flag set with the output flags, and the parsed positional arguments.
type question struct {
	fs    *flag.FlagSet
	out   outputFlags
	win   windowFlags
	scope scopeFlags
	// sc is the scope of --user, --group and --level, once parsed (see
	// [question.withScope]).
	sc analysis.Scope
}

// scopeFlags are the --user, --group and --level flags of the questions:
// the scope every analysis request takes.
type scopeFlags struct {
	on                    bool
	users, groups, levels listFlag
}

// withScope adds the --user, --group and --level flags; what they parse
// to is q.sc.
func (q *question) withScope() *question {
	q.scope.on = true
	q.fs.Var(&q.scope.levels, "level", "only events of this level (repeatable, or comma-separated): debug, info, warning, error, audit, usage")
	q.fs.Var(&q.scope.users, "user", "only events of this user (repeatable; \"\" for events without a user)")
	q.fs.Var(&q.scope.groups, "group", "only events of users in this group (repeatable): by --groups FILE, or the store's directory")
	return q
}

// parseScope sets q.sc from the scope flags.
func (q *question) parseScope() error {
	if !q.scope.on {
		return nil
	}
	lv, err := parseLevels(q.scope.levels)
	if err != nil {
		return err
	}
	q.sc = analysis.Scope{Users: q.scope.users, Groups: q.scope.groups, Levels: lv}
	return nil
}

func (c *cli) question(args, summary, defWindow string, tables ...string) *question {
	q := &question{fs: c.flagSet(args, summary)}
	q.out.add(q.fs, tables...)
	if defWindow != "" {
		q.win.add(q.fs, defWindow)
	}
	return q
}

// start parses the arguments (wanting between min and max positional ones)
// and opens the database.
func (c *cli) start(ctx context.Context, q *question, args []string, min, max int) (pos []string, since, until time.Time, a *analysis.Analyzer, done func(), err error) {
	if pos, err = c.parse(q.fs, args); err != nil {
		return
	}
	switch {
	case len(pos) < min:
		err = usageErrorf("missing argument: want %s", argsOf(c.cmd))
		return
	case len(pos) > max:
		err = usageErrorf("unexpected argument %q", pos[max])
		return
	}
	if err = q.out.check(); err != nil {
		return
	}
	if err = q.parseScope(); err != nil {
		return
	}
	if since, until, err = q.win.resolve(c.now()); err != nil {
		return
	}
	a, done, err = c.openAnalyzer(ctx, analysis.Options{})
	return
}

func argsOf(name string) string {
	for _, cmd := range commands() {
		if cmd.name == name {
			return cmd.args
		}
	}
	return ""
}

// eventsTable lays out events, one per row.
func eventsTable(name, title string, events []audit.Event) table {
	t := table{name: name, title: title, cols: []column{
		{name: "time"}, {name: "level"}, {name: "type"}, {name: "user_id"}, {name: "session_id", csvOnly: true},
		{name: "message"}, {name: "duration_ms"}, {name: "params"}, {name: "id", csvOnly: true}, {name: "fingerprint", csvOnly: true},
	}}
	for _, e := range events {
		t.rows = append(t.rows, eventRow(e))
	}
	return t
}

func eventRow(e audit.Event) []any {
	d, _ := analysis.Duration(&e) // measured, else the ms param
	return []any{e.Time, e.Level, e.Type, e.UserID, e.SessionID, e.Message, d, params(e.Params), e.ID.String(), fingerprint(e.Fingerprint)}
}

func countsTable(name, title, key string, counts []analysis.Count) table {
	t := table{name: name, title: title, cols: cols(key, "count")}
	for _, c := range counts {
		t.rows = append(t.rows, []any{c.Key, c.Count})
	}
	return t
}

// dayCountsTable lays out counts per UTC day.
func dayCountsTable(name, title, count string, counts []analysis.TimeCount) table {
	t := table{name: name, title: title, cols: cols("day", count)}
	for _, c := range counts {
		t.rows = append(t.rows, []any{date(c.Start), c.Count})
	}
	return t
}

func runActivity(ctx context.Context, c *cli, args []string) error {
	q := c.question("OBJECT", "The events that name an object (a param referencing it) in the window, newest first.\nOBJECT is kind:id (query:q-42) or an id of any kind.", "7 days before --until")
	q.withScope()
	limit := q.fs.Int("limit", 0, "at most this many events, the newest (default 1000)")
	pos, since, until, a, done, err := c.start(ctx, q, args, 1, 1)
	if err != nil {
		return err
	}
	defer done()
	obj, err := parseObject(pos[0])
	if err != nil {
		return err
	}
	res, err := a.Activity(ctx, analysis.ActivityRequest{Object: obj, Since: since, Until: until, Limit: *limit, Scope: q.sc})
	if err != nil {
		return err
	}
	more := ""
	if res.Truncated {
		more = " (more: raise --limit)"
	}
	return c.emit(q.out, report{
		value:  res,
		lines:  []string{windowLine(res.Window.Since, res.Window.Until), fmt.Sprintf("Events that name %s: %d%s", obj, len(res.Events), more)},
		tables: []table{eventsTable("events", "Events, newest first", res.Events)},
	})
}

func runUsage(ctx context.Context, c *cli, args []string) error {
	q := c.question("[OBJECT]", "Event counts by record type, user and UTC day in the window, of the events that name OBJECT, or of all.", "7 days before --until", "types", "users", "days")
	q.withScope()
	pos, since, until, a, done, err := c.start(ctx, q, args, 0, 1)
	if err != nil {
		return err
	}
	defer done()
	req := analysis.UsageRequest{Since: since, Until: until, Scope: q.sc}
	what := "all events"
	if len(pos) == 1 {
		obj, err := parseObject(pos[0])
		if err != nil {
			return err
		}
		req.Object = &obj
		what = "the events that name " + obj.String()
	}
	res, err := a.Usage(ctx, req)
	if err != nil {
		return err
	}
	return c.emit(q.out, report{
		value: res,
		lines: []string{windowLine(res.Window.Since, res.Window.Until), fmt.Sprintf("%s (%s), %s, %s", plural(res.Total, "event"), what, plural(len(res.ByUser), "user"), plural(len(res.ByType), "record type"))},
		tables: []table{
			countsTable("types", "By record type", "type", res.ByType),
			countsTable("users", "By user", "user_id", res.ByUser),
			dayCountsTable("days", "By day", "count", res.ByDay),
		},
	})
}

// metricJSON is an [analysis.Metric] with its change, in JSON: Change is
// null when the change is infinite (Previous 0, Current not).
func runOverview(ctx context.Context, c *cli, args []string) error {
	q := c.question("", "The overview of the window: active users, new users (first event ever in the window), sessions, events and errors,\neach with the previous window of the same length; unique users per UTC day; events per level over time.", "7 days before --until", "metrics", "users-per-day", "levels")
	q.withScope()
	var bucket durationFlag
	q.fs.Var(&bucket, "bucket", "width of the time buckets of the levels table (default: by the window's length)")
	_, since, until, a, done, err := c.start(ctx, q, args, 0, 0)
	if err != nil {
		return err
	}
	defer done()
	res, err := a.Overview(ctx, analysis.OverviewRequest{Since: since, Until: until, Bucket: bucket.d, Scope: q.sc})
	if err != nil {
		return err
	}
	metrics := table{name: "metrics", title: "Metrics", cols: cols("metric", "current", "previous", "change")}
	for _, m := range []struct {
		name string
		m    analysis.Metric
	}{{"active users", res.ActiveUsers}, {"new users", res.NewUsers}, {"sessions", res.Sessions}, {"events", res.Events}, {"errors", res.Errors}} {
		metrics.rows = append(metrics.rows, []any{m.name, m.m.Current, m.m.Previous, change(m.m.Change())})
	}
	// Levels pivoted: a row per bucket, a column per level with events.
	var levels []audit.Level
	index := map[time.Time]int{}
	counts := map[time.Time]map[audit.Level]int64{}
	var starts []time.Time
	for _, lc := range res.EventsOverTime {
		if _, ok := index[lc.Start]; !ok {
			index[lc.Start] = len(starts)
			starts = append(starts, lc.Start)
			counts[lc.Start] = map[audit.Level]int64{}
		}
		counts[lc.Start][lc.Level] = lc.Count
		if !containsLevel(levels, lc.Level) {
			levels = append(levels, lc.Level)
		}
	}
	lt := table{name: "levels", title: "Events per level, " + textBucket(res.Bucket) + " buckets with events", cols: cols("start"), sparse: true}
	for _, l := range levels {
		lt.cols = append(lt.cols, column{name: l.String()})
	}
	for _, s := range starts {
		row := []any{s}
		for _, l := range levels {
			row = append(row, counts[s][l])
		}
		lt.rows = append(lt.rows, row)
	}
	return c.emit(q.out, report{
		value:  res,
		lines:  []string{windowLine(res.Window.Since, res.Window.Until) + ", compared with " + textCell(res.Previous.Since) + " to " + textCell(res.Previous.Until)},
		tables: []table{metrics, dayCountsTable("users-per-day", "Unique users per day", "users", res.UsersPerDay), lt},
	})
}

func containsLevel(ls []audit.Level, l audit.Level) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

func runFunctions(ctx context.Context, c *cli, args []string) error {
	q := c.question("", "Function calls (the events of Logger.Call and audit.Do): per function, per function, user and time bucket,\nand the newest calls with their inputs, outputs, duration and error.", "7 days before --until", "functions", "calls", "series")
	q.withScope()
	function := q.fs.String("function", "", "only the calls of this function")
	var types listFlag
	q.fs.Var(&types, "type", "the record type of calls (repeatable; default function-call)")
	var bucket durationFlag
	q.fs.Var(&bucket, "bucket", "width of the time buckets of the series (default: by the window's length)")
	limit := q.fs.Int("limit", 0, "rows of the calls table, newest first (default 100)")
	after := q.fs.String("after", "", "continue the calls table after this cursor (printed as next)")
	_, since, until, a, done, err := c.start(ctx, q, args, 0, 0)
	if err != nil {
		return err
	}
	defer done()
	res, err := a.Functions(ctx, analysis.FunctionsRequest{Since: since, Until: until, Types: types, Function: *function,
		Scope: q.sc, Bucket: bucket.d, Limit: *limit, After: *after})
	if err != nil {
		return err
	}
	ft := table{name: "functions", title: "Functions", cols: cols("function", "calls", "errors", "users", "avg_duration_ms")}
	for _, f := range res.Functions {
		ft.rows = append(ft.rows, []any{f.Function, f.Calls, f.Errors, f.Users, f.AvgDuration})
	}
	ct := table{name: "calls", title: "Calls, newest first", cols: []column{{name: "time"}, {name: "user_id"}, {name: "session_id", csvOnly: true},
		{name: "function"}, {name: "inputs"}, {name: "outputs"}, {name: "duration_ms"}, {name: "error"}, {name: "id", csvOnly: true}}}
	for _, call := range res.Calls {
		ct.rows = append(ct.rows, []any{call.Time, call.User, call.SessionID, call.Function, params(call.Inputs), params(call.Outputs), call.Duration, call.Error, call.ID.String()})
	}
	st := table{name: "series", title: "Calls per " + textBucket(res.Bucket) + " bucket", cols: cols("function", "user_id", "start", "calls", "errors")}
	for _, s := range res.Series {
		st.rows = append(st.rows, []any{s.Function, s.User, s.Start, s.Calls, s.Errors})
	}
	lines := []string{windowLine(res.Window.Since, res.Window.Until)}
	if res.Next != "" {
		lines = append(lines, "More calls: --after "+res.Next)
	}
	return c.emit(q.out, report{value: res, lines: lines, tables: []table{ft, ct, st}})
}

func runErrors(ctx context.Context, c *cli, args []string) error {
	q := c.question("", "Errors grouped by stack fingerprint (by message when there is no stack), with count, users affected,\nfirst and last seen and the newest as a sample; and the record types that precede errors in their session, by lift.", "7 days before --until", "groups", "actions")
	q.withScope()
	fp := q.fs.String("fingerprint", "", "only the errors of this fingerprint, or of the one fingerprint in the window that starts with it (as the text output shortens them)")
	limit := q.fs.Int("limit", 0, "at most this many groups, the most frequent (default 20)")
	horizon := q.fs.Int("horizon", 0, "how many next events of a session count as leading to an error (default 3)")
	minSupport := q.fs.Int("min-support", 0, "the events a record type needs to be ranked as an action (default 10)")
	_, since, until, a, done, err := c.start(ctx, q, args, 0, 0)
	if err != nil {
		return err
	}
	defer done()
	if *fp != "" {
		if *fp, err = resolveFingerprint(ctx, a, since, until, *fp); err != nil {
			return err
		}
	}
	res, err := a.Errors(ctx, analysis.ErrorsRequest{Since: since, Until: until, Fingerprint: *fp, Limit: *limit, Horizon: *horizon, MinSupport: *minSupport, Scope: q.sc})
	if err != nil {
		return err
	}
	gt := table{name: "groups", title: "Error groups", cols: []column{{name: "fingerprint"}, {name: "count"}, {name: "users"},
		{name: "first_seen"}, {name: "last_seen"}, {name: "message"}, {name: "sample_id", csvOnly: true}, {name: "sample_user_id", csvOnly: true}}}
	for _, g := range res.Groups {
		gt.rows = append(gt.rows, []any{fingerprint(g.Fingerprint), g.Count, g.Users, g.FirstSeen, g.LastSeen, g.Sample.Message, g.Sample.ID.String(), g.Sample.UserID})
	}
	at := table{name: "actions", title: "Actions that lead to errors", cols: cols("type", "count", "followed", "rate", "lift")}
	for _, x := range res.Actions {
		at.rows = append(at.rows, []any{x.Type, x.Count, x.Followed, x.Rate, x.Lift})
	}
	return c.emit(q.out, report{
		value: res,
		lines: []string{windowLine(res.Window.Since, res.Window.Until),
			fmt.Sprintf("%s in %s; an error follows %.1f%% of events", plural(res.Total, "error"), plural(len(res.Groups), "group"), res.BaseRate*100)},
		tables: []table{gt, at},
	})
}

// fullFingerprint is the length of a fingerprint (audit.Fingerprint).
const fullFingerprint = 32

// resolveFingerprint returns the fingerprint of the window's error groups
// that starts with prefix: prefix itself when it is whole, else the one
// group's whose fingerprint it begins (a trailing "…", as the text output
// marks a shortened one, is ignored). No match exits 3, several exit 2.
func resolveFingerprint(ctx context.Context, a *analysis.Analyzer, since, until time.Time, prefix string) (string, error) {
	prefix = strings.TrimSuffix(strings.TrimSuffix(prefix, "…"), "...")
	if len(prefix) >= fullFingerprint {
		return prefix, nil
	}
	if prefix == "" {
		return "", usageErrorf("--fingerprint is empty")
	}
	all, err := a.Errors(ctx, analysis.ErrorsRequest{Since: since, Until: until, Limit: audit.MaxLimit, MinSupport: math.MaxInt32})
	if err != nil {
		return "", err
	}
	var found []string
	for _, g := range all.Groups {
		if strings.HasPrefix(g.Fingerprint, prefix) {
			found = append(found, g.Fingerprint)
		}
	}
	switch len(found) {
	case 0:
		return "", notFoundf("no error group in the window has a fingerprint starting with %q", prefix)
	case 1:
		return found[0], nil
	}
	return "", usageErrorf("--fingerprint %q is ambiguous: %s", prefix, strings.Join(found, ", "))
}

func runPerf(ctx context.Context, c *cli, args []string) error {
	q := c.question("", "Percentiles (p50, p95, p99) of the durations of each record type and each HTTP route, with the error rate.", "7 days before --until", "types", "routes")
	q.withScope()
	var types listFlag
	q.fs.Var(&types, "type", "only this record type (repeatable)")
	routeType := q.fs.String("route-type", "", "the record type of HTTP requests (default http-request)")
	_, since, until, a, done, err := c.start(ctx, q, args, 0, 0)
	if err != nil {
		return err
	}
	defer done()
	res, err := a.Perf(ctx, analysis.PerfRequest{Since: since, Until: until, Types: types, RouteType: *routeType, Scope: q.sc})
	if err != nil {
		return err
	}
	tt := table{name: "types", title: "By record type", cols: cols("type", "count", "errors", "error_rate", "p50_ms", "p95_ms", "p99_ms")}
	for _, s := range res.Types {
		tt.rows = append(tt.rows, []any{s.Name, s.Count, s.Errors, s.ErrorRate, s.P50, s.P95, s.P99})
	}
	rt := table{name: "routes", title: "By HTTP route", cols: cols("method", "route", "count", "errors", "error_rate", "p50_ms", "p95_ms", "p99_ms")}
	for _, s := range res.Routes {
		rt.rows = append(rt.rows, []any{s.Method, s.Name, s.Count, s.Errors, s.ErrorRate, s.P50, s.P95, s.P99})
	}
	return c.emit(q.out, report{value: res, lines: []string{windowLine(res.Window.Since, res.Window.Until)}, tables: []table{tt, rt}})
}

func runPatterns(ctx context.Context, c *cli, args []string) error {
	q := c.question("", "Clusters of users by their usage (each user's shares of record types, k-means, k chosen by silhouette),\nwith the top record types of each and how its members split across groups (--groups).", "30 days before --until", "clusters", "users", "scores")
	q.withScope()
	k := q.fs.Int("k", 0, "the number of clusters (default: chosen by silhouette)")
	maxK := q.fs.Int("max-k", 0, "the largest k tried when choosing (default 8)")
	minEvents := q.fs.Int("min-events", 0, "leave out users with fewer events (default 1)")
	top := q.fs.Int("top", 0, "record types that describe each cluster (default 5)")
	_, since, until, a, done, err := c.start(ctx, q, args, 0, 0)
	if err != nil {
		return err
	}
	defer done()
	res, err := a.Patterns(ctx, analysis.PatternsRequest{Since: since, Until: until, K: *k, MaxK: *maxK, MinEvents: *minEvents, Top: *top, Scope: q.sc})
	if err != nil {
		return err
	}
	ct := table{name: "clusters", title: "Clusters", cols: cols("cluster", "size", "members", "top_types", "groups")}
	for i, cl := range res.Clusters {
		var tops, groups []string
		for _, t := range cl.Top {
			tops = append(tops, fmt.Sprintf("%s %.0f%%", t.Type, t.Share*100))
		}
		for _, g := range cl.Groups {
			groups = append(groups, fmt.Sprintf("%s %d", g.Key, g.Count))
		}
		if cl.Ungrouped > 0 && len(cl.Groups) > 0 {
			groups = append(groups, fmt.Sprintf("(none) %d", cl.Ungrouped))
		}
		ct.rows = append(ct.rows, []any{i, len(cl.Members), strings.Join(cl.Members, " "), strings.Join(tops, ", "), strings.Join(groups, ", ")})
	}
	// Users: the vectors flat, a column per record type, for machines.
	ut := table{name: "users", title: "Users", cols: cols("user_id", "events", "cluster")}
	for _, t := range res.Types {
		ut.cols = append(ut.cols, column{name: t, csvOnly: true})
	}
	for _, u := range res.Users {
		row := []any{u.User, u.Events, u.Cluster}
		for _, v := range u.Vector {
			row = append(row, v)
		}
		ut.rows = append(ut.rows, row)
	}
	st := table{name: "scores", title: "Silhouette of each k tried", cols: cols("k", "silhouette")}
	for _, s := range res.Scores {
		st.rows = append(st.rows, []any{s.K, s.Silhouette})
	}
	return c.emit(q.out, report{
		value: res,
		lines: []string{windowLine(res.Window.Since, res.Window.Until),
			fmt.Sprintf("%s in %s, silhouette %.3f", plural(len(res.Users), "user"), plural(len(res.Clusters), "cluster"), res.Silhouette)},
		tables: []table{ct, ut, st},
	})
}

func runUnused(ctx context.Context, c *cli, args []string) error {
	q := c.question("", "Record types and menu items by their use in the window, least used first, those never used included.", "30 days before --until", "types", "menu-items")
	q.withScope()
	var types listFlag
	q.fs.Var(&types, "type", "a record type your application knows, besides the documented ones and those in the log (repeatable)")
	var items listFlag
	q.fs.Var(&items, "item", "a menu item your application has, so that it is listed when nobody clicked it (repeatable)")
	limit := q.fs.Int("limit", 0, "at most this many rows per table (default all)")
	_, since, until, a, done, err := c.start(ctx, q, args, 0, 0)
	if err != nil {
		return err
	}
	defer done()
	if err := nonNegative("limit", *limit); err != nil {
		return err
	}
	res, err := a.Unused(ctx, analysis.UnusedRequest{Since: since, Until: until, Types: types, Items: items, Limit: *limit, Scope: q.sc})
	if err != nil {
		return err
	}
	lines := []string{windowLine(res.Window.Since, res.Window.Until)}
	if *limit == 0 { // every known type is listed: count the unused ones
		unused := 0
		for _, t := range res.Types {
			if t.Count == 0 {
				unused++
			}
		}
		lines = append(lines, fmt.Sprintf("%d of %d known record types unused", unused, len(res.Types)))
	}
	return c.emit(q.out, report{
		value: res,
		lines: lines,
		tables: []table{
			countsTable("types", "Record types, least used first", "type", res.Types),
			countsTable("menu-items", "Menu items, least used first", "item", res.MenuItems),
		},
	})
}

func runHistory(ctx context.Context, c *cli, args []string) error {
	q := c.question("OBJECT", "Where an object came from (the event that produced it and its sources), its modifications\nand what was derived from it. Exits 3 when no event names the object.", "no bound")
	limit := q.fs.Int("limit", 0, "read at most this many events, the oldest (default 10000)")
	pos, since, until, a, done, err := c.start(ctx, q, args, 1, 1)
	if err != nil {
		return err
	}
	defer done()
	obj, err := parseObject(pos[0])
	if err != nil {
		return err
	}
	res, err := a.History(ctx, analysis.HistoryRequest{Object: obj, Since: since, Until: until, Limit: *limit})
	if err != nil {
		return err
	}
	if res.Events == 0 {
		return notFoundf("no event names %s", obj)
	}
	t := table{name: "events", title: "History, oldest first", cols: []column{{name: "role"}, {name: "time"}, {name: "type"}, {name: "user_id"},
		{name: "message"}, {name: "related"}, {name: "id", csvOnly: true}}}
	add := func(role string, e audit.Event, related []audit.Entity) {
		names := make([]string, len(related))
		for i, r := range related {
			names[i] = r.String()
		}
		t.rows = append(t.rows, []any{role, e.Time, e.Type, e.UserID, e.Message, strings.Join(names, " "), e.ID.String()})
	}
	lines := []string{fmt.Sprintf("Events that name %s: %d", obj, res.Events)}
	if res.Truncated {
		lines[0] += " (more: raise --limit)"
	}
	// The origin, modifications and derivations, merged oldest first.
	type entry struct {
		role    string
		e       audit.Event
		related []audit.Entity
	}
	var entries []entry
	if res.Origin != nil {
		entries = append(entries, entry{"origin", res.Origin.Event, res.Origin.Sources})
	} else {
		lines = append(lines, "No origin: no event produced it")
	}
	for _, e := range res.Modifications {
		entries = append(entries, entry{"modified", e, nil})
	}
	for _, d := range res.Derived {
		entries = append(entries, entry{"derived", d.Event, d.Products})
	}
	slices.SortStableFunc(entries, func(x, y entry) int {
		if c := x.e.Time.Compare(y.e.Time); c != 0 {
			return c
		}
		return bytes.Compare(x.e.ID[:], y.e.ID[:])
	})
	for _, x := range entries {
		add(x.role, x.e, x.related)
	}
	return c.emit(q.out, report{value: res, lines: lines, tables: []table{t}})
}

// plural returns "1 event", "2 events".
func plural[N int | int64](n N, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
