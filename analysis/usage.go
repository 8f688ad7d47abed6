package analysis

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/driver"
)

const day = 24 * time.Hour

// UsageRequest asks for a usage overview ([Analyzer.Usage]).
type UsageRequest struct {
	// Object, when set, restricts the overview to the events that name
	// this object (Datagrok's Usage pane); an empty Kind matches any kind.
	// Default nil: every event.
	Object *audit.Entity
	// Since (inclusive) and Until (exclusive) bound the window. Default:
	// the DefaultWindow (7 days) ending now.
	Since, Until time.Time
	// Scope keeps the events of some users, groups and levels.
	Scope
	// Packages asks for ByPackage too, which reads the events (and their
	// package params) whether or not rollups cover the window. Default
	// false.
	Packages bool
}

// UsageResult is a usage overview: event counts by record type, user and day.
type UsageResult struct {
	Object *audit.Entity `json:"object"`
	Window Window        `json:"window"`
	// Total is the number of events.
	Total int64 `json:"total"`
	// ByType and ByUser count events per record type and per user ("" for
	// events without one), most first, then by key.
	ByType []Count `json:"by_type"`
	ByUser []Count `json:"by_user"`
	// ByDay counts events per UTC day, every day of the window included,
	// oldest first.
	ByDay []TimeCount `json:"by_day"`
	// ByPackage is the use of each package (the PackageParam of the
	// events), most events first, with its functions; only when
	// UsageRequest.Packages is set. Events without a package are not in
	// it.
	ByPackage []PackageUsage `json:"by_package,omitempty"`
}

// Usage counts the events of the window (of one object, or all) by record
// type, user and day: three GROUP BY queries over the window (through the
// object index when an object is given).
func (a *Analyzer) Usage(ctx context.Context, req UsageRequest) (UsageResult, error) {
	if req.Object != nil && req.Object.ID == "" {
		return UsageResult{}, fmt.Errorf("analysis: usage: %w: Object.ID is empty", ErrInvalidRequest)
	}
	w, err := a.window(req.Since, req.Until, DefaultWindow)
	if err != nil {
		return UsageResult{}, err
	}
	f := driver.NewWhere(a.d)
	f.Window(w.Since, w.Until)
	if req.Object != nil {
		f.Object(*req.Object)
	}
	sc, err := a.resolve(ctx, req.Scope, f)
	if err != nil {
		return UsageResult{}, err
	}
	sc.apply(f)
	// Without an object, from the rollups where they cover the window.
	var sp driver.Span
	rolled := false
	if req.Object == nil {
		if sp, rolled, err = a.span(ctx, w, true, sc, driver.RollupTypes, driver.RollupUsers); err != nil {
			return UsageResult{}, err
		}
	}
	typesQ, typesArgs := rawTypeCounts(f)
	usersQ, usersArgs := "SELECT e.user_id, e.user_id_raw, count(*) FROM {events} e WHERE "+f.String()+" GROUP BY e.user_id, e.user_id_raw", f.Args()
	daysQ, daysArgs := fmt.Sprintf("SELECT %s AS b, count(*) FROM {events} e WHERE %s GROUP BY b", a.d.Bucket("e.event_time", day), f.String()), f.Args()
	if rolled {
		typesQ, typesArgs = a.typeCountsSQL(sp, sc)
		rel, args := a.rel(driver.RollupUsers, sp, sc)
		usersQ, usersArgs = "SELECT r.user_id, r.user_id_raw, sum(r.n) FROM "+rel+" GROUP BY r.user_id, r.user_id_raw", args
		rel, args = a.rel(driver.RollupTypes, sp, sc)
		daysQ, daysArgs = "SELECT "+a.d.Bucket("r.bucket", day)+" AS b, sum(r.n) FROM "+rel+" GROUP BY b", args
	}
	res := UsageResult{Object: req.Object, Window: w}
	if res.ByType, err = a.countByType(ctx, "usage", typesQ, typesArgs); err != nil {
		return UsageResult{}, err
	}
	for _, c := range res.ByType {
		res.Total += c.Count
	}
	byUser := map[string]int64{}
	err = a.query(ctx, "usage", usersQ, usersArgs, func(r *sqlx.Rows) error {
		var user *string
		var raw []byte
		var n int64
		if err := r.Scan(&user, &raw, &n); err != nil {
			return err
		}
		byUser[optText(user, raw)] += n
		return nil
	})
	if err != nil {
		return UsageResult{}, err
	}
	res.ByUser = sortedCounts(byUser)
	if res.ByDay, err = a.countByBucket(ctx, "usage", daysQ, daysArgs, w, day); err != nil {
		return UsageResult{}, err
	}
	if req.Packages {
		if res.ByPackage, err = a.packages(ctx, f); err != nil {
			return UsageResult{}, err
		}
	}
	return res, nil
}

// countByType counts events per record type, from a query of
// (event_type_id, c) rows.
func (a *Analyzer) countByType(ctx context.Context, op, inner string, args []any) ([]Count, error) {
	counts := map[string]int64{}
	err := a.query(ctx, op, "SELECT t.friendly_name, t.friendly_name_raw, c FROM ("+inner+") x JOIN {event_types} t ON t.id = x.event_type_id", args, addCounts(counts))
	return sortedCounts(counts), err
}

// addCounts returns a scan of rows of (text, its _raw, count) that adds
// each count to that of its text in counts.
func addCounts(counts map[string]int64) func(*sqlx.Rows) error {
	return func(r *sqlx.Rows) error {
		var text string
		var raw []byte
		var n int64
		if err := r.Scan(&text, &raw, &n); err != nil {
			return err
		}
		counts[driver.DecodeText(text, raw)] += n
		return nil
	}
}

// rawTypeCounts returns the query of the number of events that match f per
// record type: event_type_id, c.
func rawTypeCounts(f *driver.Where) (string, []any) {
	return "SELECT e.event_type_id, count(*) AS c FROM {events} e WHERE " + f.String() + " GROUP BY e.event_type_id", f.Args()
}

// countByBucket counts events per time bucket of width bucket, every bucket
// of w included, from a query of (bucket start, count) rows.
func (a *Analyzer) countByBucket(ctx context.Context, op, q string, args []any, w Window, bucket time.Duration) ([]TimeCount, error) {
	counts := map[time.Time]int64{}
	err := a.query(ctx, op, q, args, func(r *sqlx.Rows) error {
		var b driver.ScanTime
		var n int64
		if err := r.Scan(&b, &n); err != nil {
			return err
		}
		counts[b.Time] += n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fillBuckets(w, bucket, counts), nil
}

func fillBuckets(w Window, bucket time.Duration, counts map[time.Time]int64) []TimeCount {
	starts := bucketStarts(w, bucket)
	out := make([]TimeCount, len(starts))
	for i, t := range starts {
		out[i] = TimeCount{Start: t, Count: counts[t]}
	}
	return out
}

// sortedCounts returns the counts of m, most first, then by key.
func sortedCounts(m map[string]int64) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{Key: k, Count: n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out
}

func optText(s *string, raw []byte) string {
	if s == nil {
		return ""
	}
	return driver.DecodeText(*s, raw)
}

// OverviewRequest asks for the overview cards and charts ([Analyzer.Overview]).
type OverviewRequest struct {
	// Since (inclusive) and Until (exclusive) bound the window. Default:
	// the DefaultWindow (7 days) ending now.
	Since, Until time.Time
	// Bucket is the width of the time buckets of EventsOverTime. Default:
	// [BucketFor] the window's length.
	Bucket time.Duration
	// Scope keeps the events of some users, groups and levels. New users
	// are those of the scope whose first event ever (of any level) is in
	// the window.
	Scope
}

// Metric is a number in the window and in the previous window of the same
// length, for comparison.
type Metric struct {
	Current  int64 `json:"current"`
	Previous int64 `json:"previous"`
}

// Change returns the relative change from Previous to Current (0.5 is
// +50%); +Inf when Previous is 0 and Current is not, 0 when both are.
func (m Metric) Change() float64 {
	if m.Previous == 0 {
		if m.Current == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return float64(m.Current-m.Previous) / float64(m.Previous)
}

// LevelCount is the number of events of one level in the time bucket that
// starts at Start.
type LevelCount struct {
	Start time.Time   `json:"start"`
	Level audit.Level `json:"level"`
	Count int64       `json:"count"`
}

// OverviewResult is the overview of the log in a window (Datagrok's Usage
// Analysis overview).
type OverviewResult struct {
	Window   Window `json:"window"`
	Previous Window `json:"previous"`
	// ActiveUsers are the users with an event in the window.
	ActiveUsers Metric `json:"active_users"`
	// NewUsers are the users whose first event ever is in the window.
	NewUsers Metric `json:"new_users"`
	// Sessions are the sessions with an event in the window.
	Sessions Metric `json:"sessions"`
	// Events and Errors count the events, and those of level error.
	Events Metric `json:"events"`
	Errors Metric `json:"errors"`
	// UsersPerDay counts the distinct users per UTC day, every day of the
	// window included.
	UsersPerDay []TimeCount `json:"users_per_day"`
	// Bucket is the width of the buckets of EventsOverTime.
	Bucket time.Duration `json:"bucket_ms"`
	// EventsOverTime counts the events per bucket and level, every bucket
	// included for each level that has events in the window, by bucket then
	// level.
	EventsOverTime []LevelCount `json:"events_over_time"`
}

// Overview returns the cards and charts of the window: active users, new
// users, sessions, events and errors with the previous window of the same
// length; unique users per day; events per level over time. It runs four
// aggregate queries: the counts over both windows in one scan, the active
// users with their first event ever (one index probe per user on
// (user_id, event_time)), the users per day and the levels per bucket.
func (a *Analyzer) Overview(ctx context.Context, req OverviewRequest) (OverviewResult, error) {
	w, err := a.window(req.Since, req.Until, DefaultWindow)
	if err != nil {
		return OverviewResult{}, err
	}
	if req.Bucket < 0 {
		return OverviewResult{}, fmt.Errorf("analysis: overview: %w: Bucket %s is negative", ErrInvalidRequest, req.Bucket)
	}
	res := OverviewResult{Window: w, Previous: w.Previous(), Bucket: req.Bucket}
	if res.Bucket == 0 {
		res.Bucket = BucketFor(w.Duration())
	}
	both := driver.NewWhere(a.d)
	both.Window(res.Previous.Since, w.Until)
	sc, err := a.resolve(ctx, req.Scope, both)
	if err != nil {
		return OverviewResult{}, err
	}
	sc.apply(both)
	if hours, days := bucketWidthOK(res.Bucket); hours {
		sp, rolled, err := a.spans(ctx, days, sc, []driver.Rollup{driver.RollupTypes, driver.RollupSessions, driver.RollupUsers}, w, res.Previous)
		if err != nil {
			return OverviewResult{}, err
		}
		if rolled {
			return a.overviewRolled(ctx, res, sp[0], sp[1])
		}
	}
	since := a.d.TimeArg(w.Since)

	// Sessions, events and errors of both windows, one scan grouped by
	// session (events without one are the NULL group).
	err = a.query(ctx, "overview", `SELECT
 coalesce(sum(CASE WHEN s.session_id IS NOT NULL AND s.hi >= ? THEN 1 ELSE 0 END), 0),
 coalesce(sum(CASE WHEN s.session_id IS NOT NULL AND s.lo < ? THEN 1 ELSE 0 END), 0),
 coalesce(sum(s.cur), 0), coalesce(sum(s.prev), 0), coalesce(sum(s.cur_err), 0), coalesce(sum(s.prev_err), 0)
FROM (SELECT e.session_id, min(e.event_time) AS lo, max(e.event_time) AS hi,
  sum(CASE WHEN e.event_time >= ? THEN 1 ELSE 0 END) AS cur,
  sum(CASE WHEN e.event_time < ? THEN 1 ELSE 0 END) AS prev,
  sum(CASE WHEN e.event_time >= ? AND e.level = 'error' THEN 1 ELSE 0 END) AS cur_err,
  sum(CASE WHEN e.event_time < ? AND e.level = 'error' THEN 1 ELSE 0 END) AS prev_err
 FROM {events} e WHERE `+both.String()+` GROUP BY e.session_id) s`, append([]any{since, since, since, since, since, since}, both.Args()...),
		func(r *sqlx.Rows) error {
			return r.Scan(&res.Sessions.Current, &res.Sessions.Previous, &res.Events.Current, &res.Events.Previous,
				&res.Errors.Current, &res.Errors.Previous)
		})
	if err != nil {
		return OverviewResult{}, err
	}

	// Active users of both windows, with their first event ever.
	err = a.query(ctx, "overview: users", `SELECT u.lo < ?, u.hi >= ?, (SELECT min(p.event_time) FROM {events} p WHERE p.user_id = u.user_id)
FROM (SELECT e.user_id, min(e.event_time) AS lo, max(e.event_time) AS hi FROM {events} e
 WHERE e.user_id IS NOT NULL AND `+both.String()+` GROUP BY e.user_id) u`, append([]any{since, since}, both.Args()...), res.scanUser)
	if err != nil {
		return OverviewResult{}, err
	}

	cur := driver.NewWhere(a.d)
	cur.Window(w.Since, w.Until)
	sc.apply(cur)
	res.UsersPerDay, err = a.countByBucket(ctx, "overview: users per day", fmt.Sprintf(`SELECT b, count(*) FROM
 (SELECT DISTINCT %s AS b, e.user_id FROM {events} e WHERE e.user_id IS NOT NULL AND %s) x GROUP BY b`,
		a.d.Bucket("e.event_time", day), cur.String()), cur.Args(), w, day)
	if err != nil {
		return OverviewResult{}, err
	}
	err = a.eventsOverTime(ctx, &res, fmt.Sprintf("SELECT %s AS b, e.level, count(*) FROM {events} e WHERE %s GROUP BY b, e.level",
		a.d.Bucket("e.event_time", res.Bucket), cur.String()), cur.Args())
	return res, err
}

// scanUser counts a row of (in the previous window, in the current window,
// first event ever) of an active user.
func (res *OverviewResult) scanUser(r *sqlx.Rows) error {
	var prev, cur bool
	var first driver.ScanTime
	if err := r.Scan(&prev, &cur, &first); err != nil {
		return err
	}
	if cur {
		res.ActiveUsers.Current++
	}
	if prev {
		res.ActiveUsers.Previous++
	}
	switch {
	case !first.Before(res.Window.Since):
		res.NewUsers.Current++
	case !first.Before(res.Previous.Since):
		res.NewUsers.Previous++
	}
	return nil
}

// eventsOverTime fills res.EventsOverTime from a query of (bucket start,
// level, count) rows.
func (a *Analyzer) eventsOverTime(ctx context.Context, res *OverviewResult, q string, args []any) error {
	perLevel := map[audit.Level]map[time.Time]int64{}
	err := a.query(ctx, "overview: levels", q, args, func(r *sqlx.Rows) error {
		var b driver.ScanTime
		var n int64
		var name string
		if err := r.Scan(&b, &name, &n); err != nil {
			return err
		}
		l, err := audit.ParseLevel(name)
		if err != nil {
			return err
		}
		if perLevel[l] == nil {
			perLevel[l] = map[time.Time]int64{}
		}
		perLevel[l][b.Time] += n
		return nil
	})
	if err != nil {
		return err
	}
	for _, t := range bucketStarts(res.Window, res.Bucket) {
		for _, l := range audit.Levels() {
			if m, ok := perLevel[l]; ok {
				res.EventsOverTime = append(res.EventsOverTime, LevelCount{Start: t, Level: l, Count: m[t]})
			}
		}
	}
	return nil
}

// UnusedRequest asks for the least used record types and menu items
// ([Analyzer.Unused]).
type UnusedRequest struct {
	// Since (inclusive) and Until (exclusive) bound the window. Default:
	// the LongWindow (30 days) ending now.
	Since, Until time.Time
	// Types are record types known to the application besides
	// datagrok.RecordTypes() and the types in the log. Default none.
	Types []string
	// Items are menu items known to the application besides those ever
	// clicked, so that the ones nobody clicked are listed. Default none.
	Items []string
	// Limit caps each list. Default 0: every known type and item.
	Limit int
	// Scope keeps the events of some users, groups and levels: the uses
	// counted are theirs (menu items ever clicked are listed whoever
	// clicked them).
	Scope
}

// UnusedResult lists record types and menu items by their use in the window,
// least used first (then by name); those never used in it have Count 0.
type UnusedResult struct {
	Window Window `json:"window"`
	// Types are the known record types: datagrok.RecordTypes(), the
	// request's Types and every type in the log.
	Types []Count `json:"types"`
	// MenuItems are the request's Items and the menu items ever clicked:
	// the item param of main-menu-item-click events at any time.
	MenuItems []Count `json:"menu_items"`
}

// Unused lists the record types and menu items with little or no use in the
// window, including the known ones with none. Types are counted with one
// GROUP BY on event_type_id (the type index); menu items with one pass over
// the main-menu-item-click events and their item param.
func (a *Analyzer) Unused(ctx context.Context, req UnusedRequest) (UnusedResult, error) {
	w, err := a.window(req.Since, req.Until, LongWindow)
	if err != nil {
		return UnusedResult{}, err
	}
	if req.Limit < 0 {
		return UnusedResult{}, fmt.Errorf("analysis: unused: %w: Limit %d is negative", ErrInvalidRequest, req.Limit)
	}
	counts := map[string]int64{}
	for _, t := range append(datagrok.RecordTypes(), req.Types...) {
		counts[t] = 0
	}
	// The session-start type the store writes itself is never a candidate.
	err = a.query(ctx, "unused", "SELECT DISTINCT friendly_name, friendly_name_raw FROM {event_types} WHERE friendly_name <> ?", []any{driver.StartedType}, func(r *sqlx.Rows) error {
		var name string
		var raw []byte
		if err := r.Scan(&name, &raw); err != nil {
			return err
		}
		counts[driver.DecodeText(name, raw)] = 0
		return nil
	})
	if err != nil {
		return UnusedResult{}, err
	}
	f := driver.NewWhere(a.d)
	f.Window(w.Since, w.Until)
	sc, err := a.resolve(ctx, req.Scope, f)
	if err != nil {
		return UnusedResult{}, err
	}
	sc.apply(f)
	q, args := rawTypeCounts(f)
	if sp, rolled, err := a.span(ctx, w, true, sc, driver.RollupTypes); err != nil {
		return UnusedResult{}, err
	} else if rolled {
		q, args = a.typeCountsSQL(sp, sc)
	}
	used, err := a.countByType(ctx, "unused", q, args)
	if err != nil {
		return UnusedResult{}, err
	}
	for _, c := range used {
		counts[c.Key] = c.Count
	}
	res := UnusedResult{Window: w, Types: leastFirst(counts, req.Limit)}

	items := map[string]int64{}
	for _, it := range req.Items {
		items[it] = 0
	}
	if sp, rolled, err := a.span(ctx, w, true, sc, driver.RollupMenu); err != nil {
		return UnusedResult{}, err
	} else if rolled {
		if err := a.menuRolled(ctx, sp, items); err != nil {
			return UnusedResult{}, err
		}
		res.MenuItems = leastFirst(items, req.Limit)
		return res, nil
	}
	menu := driver.NewWhere(a.d)
	menu.Types([]string{datagrok.MainMenuItemClick})
	in := driver.NewConds(a.d) // the clicks counted: in the window and the scope
	in.Window(w.Since, w.Until)
	sc.apply(in)
	err = a.query(ctx, "unused: menu items", `SELECT v.value, v.value_raw,
 sum(CASE WHEN `+in.String()+` THEN 1 ELSE 0 END)
FROM {events} e JOIN {event_parameter_values} v ON v.event_id = e.id
WHERE `+menu.String()+` AND v.parameter_id IN (SELECT id FROM {event_parameters} WHERE name = 'item')
GROUP BY v.value, v.value_raw`, append(slices.Clone(in.Args()), menu.Args()...), addCounts(items))
	if err != nil {
		return UnusedResult{}, err
	}
	res.MenuItems = leastFirst(items, req.Limit)
	return res, nil
}

// leastFirst returns the counts of m, least first, then by key, at most
// limit of them (all for 0).
func leastFirst(m map[string]int64, limit int) []Count {
	out := sortedCounts(m)
	slices.SortStableFunc(out, func(a, b Count) int { return cmp.Compare(a.Count, b.Count) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
