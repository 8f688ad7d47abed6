package analysis

import (
	"context"
	"strings"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/jmoiron/sqlx"
)

// span returns how the window w splits between the rollups of the store and
// its events (see [driver.PlanSpan]; days: whether whole days may come from
// the daily rows), and false when the store keeps no rollups that cover
// any of it (SQLite, rollups not built, Options.NoRollups), or when the
// rollups rs the question reads do not keep what the scope sc filters on:
// the question then reads the events.
func (a *Analyzer) span(ctx context.Context, w Window, days bool, sc scope, rs ...driver.Rollup) (driver.Span, bool, error) {
	r, ok := a.d.(driver.RollupReader)
	if !ok || a.opts.NoRollups || !sc.keptBy(rs...) {
		return driver.Span{}, false, nil
	}
	since, through, ok, err := r.RollupCoverage(ctx, a.db)
	if err != nil {
		return driver.Span{}, false, a.d.Translate("analysis", "rollups", err)
	}
	if !ok {
		return driver.Span{}, false, nil
	}
	s := driver.PlanSpan(w.Since, w.Until, since, through, days)
	return s, s.Rolled(), nil
}

// spans returns the spans of the windows, and whether any of them reads
// the rollups (a span that does not is its whole window from the events,
// which the same queries read through [driver.Relation]).
func (a *Analyzer) spans(ctx context.Context, days bool, sc scope, rs []driver.Rollup, ws ...Window) ([]driver.Span, bool, error) {
	out := make([]driver.Span, len(ws))
	rolled := false
	for i, w := range ws {
		s, ok, err := a.span(ctx, w, days, sc, rs...)
		if err != nil {
			return nil, false, err
		}
		out[i], rolled = s, rolled || ok
	}
	return out, rolled, nil
}

// rel returns the rows of the rollup r over s in the scope sc (which r
// keeps, see [scope.keptBy]), as a subquery aliased r, and its arguments.
func (a *Analyzer) rel(r driver.Rollup, s driver.Span, sc scope) (string, []any) {
	q, args := driver.Relation(a.d, r, s)
	if cond, cargs := sc.onRollup(a.d, r); cond != "" {
		return "(SELECT * FROM (" + q + ") r WHERE " + cond + ") r", append(args, cargs...)
	}
	return "(" + q + ") r", args
}

// typeCountsSQL returns the query of the number of events per record type
// over s in the scope sc: event_type_id, c.
func (a *Analyzer) typeCountsSQL(s driver.Span, sc scope) (string, []any) {
	rel, args := a.rel(driver.RollupTypes, s, sc)
	return "SELECT r.event_type_id, sum(r.n) AS c FROM " + rel + " GROUP BY r.event_type_id", args
}

// bucketWidthOK reports whether buckets of width b can be summed from
// hourly rows (whole hours), and from daily rows (whole days).
func bucketWidthOK(b time.Duration) (hours, days bool) {
	return b%time.Hour == 0, b%day == 0
}

// overviewRolled is [Analyzer.Overview] from the rollups over the spans of
// the window (cur) and of the previous one (prev).
func (a *Analyzer) overviewRolled(ctx context.Context, res OverviewResult, cur, prev driver.Span) (OverviewResult, error) {
	for _, x := range []struct {
		s        driver.Span
		sessions *int64
		events   *int64
		errors   *int64
	}{{cur, &res.Sessions.Current, &res.Events.Current, &res.Errors.Current},
		{prev, &res.Sessions.Previous, &res.Events.Previous, &res.Errors.Previous}} {
		rel, args := a.rel(driver.RollupTypes, x.s, scope{})
		err := a.query(ctx, "overview", "SELECT coalesce(sum(r.n), 0), coalesce(sum(CASE WHEN t.source = 'error' THEN r.n ELSE 0 END), 0) FROM "+
			rel+" JOIN {event_types} t ON t.id = r.event_type_id", args, func(r *sqlx.Rows) error { return r.Scan(x.events, x.errors) })
		if err != nil {
			return OverviewResult{}, err
		}
		rel, args = a.rel(driver.RollupSessions, x.s, scope{})
		if err := a.query(ctx, "overview", "SELECT count(DISTINCT r.session_id) FROM "+rel, args,
			func(r *sqlx.Rows) error { return r.Scan(x.sessions) }); err != nil {
			return OverviewResult{}, err
		}
	}
	curRel, curArgs := a.rel(driver.RollupUsers, cur, scope{})
	prevRel, prevArgs := a.rel(driver.RollupUsers, prev, scope{})
	err := a.query(ctx, "overview: users", `SELECT min(u.c) = 0, max(u.c) = 1, (SELECT min(p.event_time) FROM {events} p WHERE p.user_id = u.user_id)
FROM (SELECT DISTINCT r.user_id, 1 AS c FROM `+curRel+` WHERE r.user_id IS NOT NULL
 UNION ALL SELECT DISTINCT r.user_id, 0 FROM `+prevRel+` WHERE r.user_id IS NOT NULL) u GROUP BY u.user_id`,
		append(curArgs, prevArgs...), res.scanUser)
	if err != nil {
		return OverviewResult{}, err
	}
	res.UsersPerDay, err = a.countByBucket(ctx, "overview: users per day", "SELECT "+a.d.Bucket("r.bucket", day)+
		" AS b, count(DISTINCT r.user_id) FROM "+curRel+" WHERE r.user_id IS NOT NULL GROUP BY b", curArgs, res.Window, day)
	if err != nil {
		return OverviewResult{}, err
	}
	rel, args := a.rel(driver.RollupTypes, cur, scope{})
	err = a.eventsOverTime(ctx, &res, "SELECT "+a.d.Bucket("r.bucket", res.Bucket)+" AS b, t.source, sum(r.n) FROM "+rel+
		" JOIN {event_types} t ON t.id = r.event_type_id GROUP BY b, t.source", args)
	return res, err
}

// errorGroupsSQL returns the query of the error groups over s (of the
// fingerprint fp, unless empty), as [Analyzer.Errors] reads them from the
// events, in the scope sc.
func (a *Analyzer) errorGroupsSQL(s driver.Span, sc scope, fp string) (string, []any) {
	rel, args := a.rel(driver.RollupErrors, s, sc)
	where := ""
	if fp != "" {
		cond, fargs := driver.MatchText("r.fp", []string{fp})
		where = " WHERE " + cond
		args = append(args, fargs...)
	}
	return "SELECT r.fp, r.fp_raw, r.msg, r.msg_raw, sum(r.n), count(DISTINCT r.user_id), min(r.lo), max(r.hi) FROM " + rel + where +
		" GROUP BY r.fp, r.fp_raw, r.msg, r.msg_raw", args
}

// perfRolled is the Types of [Analyzer.Perf] from the rollups over s (of
// the given record types, all if none): counts exact, percentiles from the
// merged duration sketches, within [driver.SketchAccuracy] of a duration
// of the rank asked for rather than interpolated.
func (a *Analyzer) perfRolled(ctx context.Context, s driver.Span, sc scope, types []string) ([]PerfStat, error) {
	keep := map[string]bool{}
	for _, t := range types {
		keep[t] = true
	}
	stats := sketches[string]{}
	get := func(name, raw []byte, source string) *sketched {
		n := driver.DecodeText(string(name), raw)
		if len(keep) > 0 && !keep[n] {
			return nil
		}
		return stats.get(n, PerfStat{Name: n})
	}
	rel, args := a.rel(driver.Rollup{Table: driver.TableRollupTypes, Cols: "event_type_id, dur_n, dur_sketch"}, driver.Span{Days: s.Days, Hours: s.Hours}, sc)
	err := a.query(ctx, "perf", "SELECT t.friendly_name, t.friendly_name_raw, t.source, r.dur_n, r.dur_sketch FROM "+rel+
		" JOIN {event_types} t ON t.id = r.event_type_id WHERE r.dur_sketch IS NOT NULL", args, func(r *sqlx.Rows) error {
		var name, raw, sk []byte
		var source string
		var n int64
		if err := r.Scan(&name, &raw, &source, &n, &sk); err != nil {
			return err
		}
		x := get(name, raw, source)
		if x == nil {
			return nil
		}
		errs := int64(0)
		if source == audit.LevelError.String() {
			errs = n
		}
		return x.merge(n, errs, sk)
	})
	if err != nil {
		return nil, err
	}
	for _, rg := range s.Raw {
		f := a.rawRange(rg, sc)
		f.Types(types)
		err := a.query(ctx, "perf", "SELECT t.friendly_name, t.friendly_name_raw, t.source, x.d FROM (SELECT e.event_type_id, "+
			durationSQL(a.d)+" AS d FROM {events} e WHERE "+f.String()+") x JOIN {event_types} t ON t.id = x.event_type_id WHERE x.d IS NOT NULL",
			f.Args(), func(r *sqlx.Rows) error {
				var name, raw []byte
				var source string
				var d float64
				if err := r.Scan(&name, &raw, &source, &d); err != nil {
					return err
				}
				x := get(name, raw, source)
				if x == nil {
					return nil
				}
				x.stat.Count++
				if source == audit.LevelError.String() {
					x.stat.Errors++
				}
				return x.sketch.Add(d)
			})
		if err != nil {
			return nil, err
		}
	}
	out, err := stats.stats()
	sortStats(out)
	return out, err
}

// menuRolled adds to items the menu items ever clicked, with their clicks
// in the span s, from the rollups (and the events they do not cover).
func (a *Analyzer) menuRolled(ctx context.Context, s driver.Span, items map[string]int64) error {
	scan := addCounts(items)
	rel, args := a.rel(driver.RollupMenu, s, scope{})
	if err := a.query(ctx, "unused: menu items", "SELECT r.item, r.item_raw, sum(r.n) FROM "+rel+" GROUP BY r.item, r.item_raw", args, scan); err != nil {
		return err
	}
	ever, ok, err := a.span(ctx, Window{Since: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, true, scope{})
	if err != nil || !ok {
		return err
	}
	rel, args = a.rel(driver.RollupMenu, ever, scope{})
	return a.query(ctx, "unused: menu items", "SELECT DISTINCT r.item, r.item_raw, 0 FROM "+rel, args, scan)
}

// routesRolled is the Routes of [Analyzer.Perf] from the rollups over s
// (of the requests of record type routeType, in the scope sc): counts
// exact, percentiles from the merged duration sketches, as perfRolled's.
func (a *Analyzer) routesRolled(ctx context.Context, s driver.Span, sc scope, routeType string) ([]PerfStat, error) {
	stats := sketches[[2]string]{}
	get := func(route string, method *string) *sketched {
		k := [2]string{route, ""}
		if method != nil {
			k[1] = *method
		}
		return stats.get(k, PerfStat{Name: k[0], Method: k[1]})
	}
	typeCond, typeArgs := driver.MatchText("friendly_name", []string{routeType})
	ofType := " IN (SELECT id FROM {event_types} WHERE " + typeCond + ")"
	rel, args := a.rel(driver.Rollup{Table: driver.TableRollupRoutes, Cols: "event_type_id, route, method, n, errors, dur_sketch"},
		driver.Span{Days: s.Days, Hours: s.Hours}, sc)
	err := a.query(ctx, "perf: routes", "SELECT r.route, r.method, r.n, r.errors, r.dur_sketch FROM "+rel+
		" WHERE r.dur_sketch IS NOT NULL AND r.event_type_id"+ofType, append(args, typeArgs...), func(r *sqlx.Rows) error {
		var route string
		var method *string
		var n, errs int64
		var sk []byte
		if err := r.Scan(&route, &method, &n, &errs, &sk); err != nil {
			return err
		}
		return get(route, method).merge(n, errs, sk)
	})
	if err != nil {
		return nil, err
	}
	for _, rg := range s.Raw {
		f := a.rawRange(rg, sc)
		f.Add("e.event_type_id"+ofType, typeArgs...)
		f.Add(strings.ReplaceAll(driver.RouteCond, "{duration}", "x.dur"))
		err := a.query(ctx, "perf: routes", "SELECT rp.route, rp.method, CASE WHEN rp.status >= 400 THEN 1 ELSE 0 END, x.dur FROM {events} e"+
			driver.RouteJoin+" CROSS JOIN LATERAL (SELECT "+durationSQL(a.d)+" AS dur) x WHERE "+f.String(), f.Args(), func(r *sqlx.Rows) error {
			var route string
			var method *string
			var failed int64
			var d float64
			if err := r.Scan(&route, &method, &failed, &d); err != nil {
				return err
			}
			x := get(route, method)
			x.stat.Count++
			x.stat.Errors += failed
			return x.sketch.Add(d)
		})
		if err != nil {
			return nil, err
		}
	}
	return stats.stats()
}

// sketched is the stats of a record type or route being read from the
// rollups, with the merged sketch of its durations.
type sketched struct {
	stat   PerfStat
	sketch *ddsketch.DDSketch
}

// merge adds n events, errs of them failed, with their durations' encoded
// sketch.
func (x *sketched) merge(n, errs int64, enc []byte) error {
	x.stat.Count += n
	x.stat.Errors += errs
	return x.sketch.DecodeAndMergeWith(enc)
}

// rawRange returns the filter of the events of rg in the scope sc.
func (a *Analyzer) rawRange(rg driver.Range, sc scope) *driver.Where {
	f := driver.NewWhere(a.d)
	f.Window(rg.From, rg.To)
	sc.apply(f)
	return f
}

// sketches are the stats being read, by key.
type sketches[K comparable] map[K]*sketched

// get returns the stats of k, new ones (init) if none.
func (m sketches[K]) get(k K, init PerfStat) *sketched {
	x := m[k]
	if x == nil {
		x = &sketched{stat: init, sketch: driver.NewSketch()}
		m[k] = x
	}
	return x
}

// stats returns the stats with their percentiles from their sketches and
// their error rates, in no order.
func (m sketches[K]) stats() ([]PerfStat, error) {
	var out []PerfStat
	for _, x := range m {
		q, err := x.sketch.GetValuesAtQuantiles([]float64{0.5, 0.95, 0.99})
		if err != nil {
			return nil, err
		}
		st := x.stat
		st.P50, st.P95, st.P99 = nanos(q[0]), nanos(q[1]), nanos(q[2])
		st.ErrorRate = float64(st.Errors) / float64(st.Count)
		out = append(out, st)
	}
	return out, nil
}
