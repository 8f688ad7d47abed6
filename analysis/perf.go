package analysis

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
)

// PerfRequest asks for how long operations take ([Analyzer.Perf]).
type PerfRequest struct {
	// Since (inclusive) and Until (exclusive) bound the window. Default:
	// the DefaultWindow (7 days) ending now.
	Since, Until time.Time
	// Types keeps these record types only. Default: every type with
	// measured durations.
	Types []string
	// RouteType is the record type of HTTP requests, whose params method,
	// route and status (see package audithttp) give Routes. Default
	// [audit.TypeHTTPRequest].
	RouteType string
	// Scope keeps the events of some users, groups and levels.
	Scope
	// OverTime asks for PerfResult.OverTime too, which reads the events
	// whether or not rollups cover the window. Default false.
	OverTime bool
}

// PerfBucket is the durations of one record type or HTTP route in the time
// bucket that starts at Start.
type PerfBucket struct {
	// Route is true for an HTTP route (Name the route, Method its
	// method), false for a record type.
	Route bool      `json:"route"`
	Start time.Time `json:"start"`
	PerfStat
}

// PerfStat is the durations of one record type or HTTP route.
type PerfStat struct {
	// Name is the record type, or the route.
	Name string `json:"name"`
	// Method is the HTTP method of a route; empty for types.
	Method string `json:"method"`
	// Count is the number of events with a duration ([Duration]); Errors those
	// that failed: of level error for types, with a status of 400 or more
	// for routes.
	Count  int64 `json:"count"`
	Errors int64 `json:"errors"`
	// ErrorRate is Errors/Count.
	ErrorRate float64 `json:"error_rate"`
	// P50, P95 and P99 are percentiles of the duration, interpolated
	// linearly between the nearest durations (as Postgres's
	// percentile_cont).
	P50 time.Duration `json:"p50_ms"`
	P95 time.Duration `json:"p95_ms"`
	P99 time.Duration `json:"p99_ms"`
}

// PerfResult is the performance report of a window.
type PerfResult struct {
	Window Window `json:"window"`
	// Types are the record types, most events first, then by name.
	Types []PerfStat `json:"types"`
	// Routes are the HTTP routes (by method and route), most requests
	// first, then by route and method.
	Routes []PerfStat `json:"routes"`
	// Bucket is the width of the buckets of OverTime: [BucketFor] the
	// window's length.
	Bucket time.Duration `json:"bucket_ms"`
	// OverTime are the durations of each route and each record type per
	// bucket, the buckets with durations only, routes first, by name,
	// method, then time (only when PerfRequest.OverTime is set). The
	// percentiles are interpolated, as those of Routes.
	OverTime []PerfBucket `json:"over_time,omitempty"`
}

// Perf returns p50/p95/p99 of the durations of each record type and each
// HTTP route, with the error rate. A duration is Event.Duration, else the
// event's numeric ms param (see [Duration]); events with neither are left
// out. On Postgres the percentiles are computed by
// percentile_cont in the GROUP BY; on SQLite, which has no percentile
// aggregate, the durations are read in order and interpolated in Go the
// same way. Where rollups cover the window (see the package doc), the
// record types and routes are read from them, their percentiles from
// merged DDSketches.
func (a *Analyzer) Perf(ctx context.Context, req PerfRequest) (PerfResult, error) {
	w, err := a.window(req.Since, req.Until, DefaultWindow)
	if err != nil {
		return PerfResult{}, err
	}
	routeType := req.RouteType
	if routeType == "" {
		routeType = audit.TypeHTTPRequest
	}
	res := PerfResult{Window: w, Bucket: BucketFor(w.Duration())}

	f := driver.NewWhere(a.d)
	f.Window(w.Since, w.Until)
	f.Types(req.Types)
	sc, err := a.resolve(ctx, req.Scope, f)
	if err != nil {
		return PerfResult{}, err
	}
	sc.apply(f)
	typeKeys, typeErr := []string{"t.friendly_name", "t.friendly_name_raw"}, "e.level = 'error'"
	typesFrom := "FROM (SELECT e.event_type_id, e.level, e.event_time, " + durationSQL(a.d) + " AS duration_ns FROM {events} e WHERE " + f.String() +
		") e JOIN {event_types} t ON t.id = e.event_type_id WHERE e.duration_ns IS NOT NULL"
	typeStat := func(key [][]byte) PerfStat {
		if key[1] != nil {
			return PerfStat{Name: string(key[1])}
		}
		return PerfStat{Name: string(key[0])}
	}
	sp, rolled, err := a.span(ctx, w, true, sc, driver.RollupTypes)
	if err != nil {
		return PerfResult{}, err
	}
	if rolled {
		res.Types, err = a.perfRolled(ctx, sp, sc, req.Types)
	} else {
		res.Types, err = a.percentiles(ctx, "perf", typeKeys, typesFrom, typeErr, f.Args(), typeStat)
	}
	if err != nil {
		return PerfResult{}, err
	}

	r := driver.NewWhere(a.d)
	r.Window(w.Since, w.Until)
	r.Types([]string{routeType})
	sc.apply(r)
	// Each request's route, method and status, from one probe of its
	// params (pivoted with CASE), then grouped by route and method.
	routeKeys, routeErr := []string{"e.route", "e.method"}, "e.status >= 400"
	routeStat := func(key [][]byte) PerfStat { return PerfStat{Name: string(key[0]), Method: string(key[1])} }
	routesFrom := `FROM (SELECT e.id, e.event_time, ` + durationSQL(a.d) + ` AS duration_ns,
  max(CASE WHEN p.name = 'route' THEN v.value END) AS route,
  max(CASE WHEN p.name = 'method' THEN v.value END) AS method,
  max(CASE WHEN p.name = 'status' AND p.type IN ('int64', 'uint64') THEN ` + a.d.CastInt("v.value") + ` END) AS status
 FROM {events} e JOIN {event_parameter_values} v ON v.event_id = e.id
 JOIN {event_parameters} p ON p.id = v.parameter_id AND p.name IN ('route', 'method', 'status')
 WHERE ` + r.String() + `
 GROUP BY e.id, e.event_time, e.duration_ns) e
WHERE e.route IS NOT NULL AND e.duration_ns IS NOT NULL`
	if sp, rolled, err = a.span(ctx, w, true, sc, driver.RollupRoutes); err != nil {
		return PerfResult{}, err
	}
	if rolled {
		res.Routes, err = a.routesRolled(ctx, sp, sc, routeType)
	} else {
		res.Routes, err = a.percentiles(ctx, "perf: routes", routeKeys, routesFrom, routeErr, r.Args(), routeStat)
	}
	if err != nil {
		return PerfResult{}, err
	}
	slices.SortFunc(res.Routes, func(x, y PerfStat) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return cmp.Compare(x.Method, y.Method)
	})
	if !req.OverTime {
		return res, nil
	}
	bucket := a.d.Bucket("e.event_time", res.Bucket)
	for _, g := range []struct {
		route      bool
		keys       []string
		from, errs string
		args       []any
		stat       func([][]byte) PerfStat
	}{{true, routeKeys, routesFrom, routeErr, r.Args(), routeStat}, {false, typeKeys, typesFrom, typeErr, f.Args(), typeStat}} {
		err := a.percentileRows(ctx, "perf: over time", g.keys, bucket, g.from, g.errs, g.args, func(key [][]byte, start time.Time, s PerfStat) {
			st := g.stat(key)
			s.Name, s.Method = st.Name, st.Method
			res.OverTime = append(res.OverTime, PerfBucket{Route: g.route, Start: start, PerfStat: s})
		})
		if err != nil {
			return PerfResult{}, err
		}
	}
	slices.SortFunc(res.OverTime, func(x, y PerfBucket) int {
		if x.Route != y.Route {
			if x.Route {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Method, y.Method); c != 0 {
			return c
		}
		return x.Start.Compare(y.Start)
	})
	return res, nil
}

// percentiles groups the events of from (a FROM ... WHERE clause over
// events e) by the keys (text columns), counting those for which isErr holds
// and computing p50/p95/p99 of e.duration_ns; stat names a group from its
// keys. The result is sorted by count, then name.
func (a *Analyzer) percentiles(ctx context.Context, op string, keys []string, from, isErr string, args []any,
	stat func(key [][]byte) PerfStat) ([]PerfStat, error) {
	var out []PerfStat
	err := a.percentileRows(ctx, op, keys, "", from, isErr, args, func(key [][]byte, _ time.Time, s PerfStat) {
		st := stat(key)
		st.Count, st.Errors, st.ErrorRate, st.P50, st.P95, st.P99 = s.Count, s.Errors, s.ErrorRate, s.P50, s.P95, s.P99
		out = append(out, st)
	})
	if err != nil {
		return nil, err
	}
	sortStats(out)
	return out, nil
}

// percentileRows groups the events of from by the keys (text columns),
// and by bucket (an expression of a time bucket over e) unless it is
// empty, and calls emit for each group with its count, errors (those for
// which isErr holds), error rate and p50/p95/p99 of e.duration_ns.
func (a *Analyzer) percentileRows(ctx context.Context, op string, keys []string, bucket, from, isErr string, args []any,
	emit func(key [][]byte, start time.Time, s PerfStat)) error {
	errExpr := "CASE WHEN " + isErr + " THEN 1 ELSE 0 END"
	cols := slices.Clone(keys)
	if bucket != "" {
		cols = append(cols, bucket)
	}
	groupBy := strings.Join(cols, ", ")
	scanKeys := func() ([][]byte, *driver.ScanTime, []any) {
		k := make([][]byte, len(keys))
		dest := make([]any, len(keys))
		for i := range k {
			dest[i] = &k[i]
		}
		var b driver.ScanTime
		if bucket != "" {
			dest = append(dest, &b)
		}
		return k, &b, dest
	}
	done := func(k [][]byte, b time.Time, n, errs int64, p [3]float64) {
		emit(k, b, PerfStat{Count: n, Errors: errs, ErrorRate: float64(errs) / float64(n), P50: nanos(p[0]), P95: nanos(p[1]), P99: nanos(p[2])})
	}
	if a.d.SQLPercentiles() {
		q := "SELECT " + groupBy + ", count(*), coalesce(sum(" + errExpr + "), 0)"
		for _, p := range []string{"0.5", "0.95", "0.99"} {
			q += ", percentile_cont(" + p + ") WITHIN GROUP (ORDER BY e.duration_ns)"
		}
		q += "\n" + from + "\nGROUP BY " + groupBy
		return a.query(ctx, op, q, args, func(r *sqlx.Rows) error {
			k, b, dest := scanKeys()
			var n, errs int64
			var p [3]float64
			if err := r.Scan(append(dest, &n, &errs, &p[0], &p[1], &p[2])...); err != nil {
				return err
			}
			done(k, b.Time, n, errs, p)
			return nil
		})
	}
	// No percentile aggregate: read the durations in order, per group.
	q := "SELECT " + groupBy + ", e.duration_ns, " + errExpr + "\n" + from + "\nORDER BY " + groupBy + ", e.duration_ns"
	var cur [][]byte
	var curB time.Time
	var durs []float64
	var errs int64
	flush := func() {
		if durs == nil {
			return
		}
		done(cur, curB, int64(len(durs)), errs, [3]float64{percentile(durs, 0.5), percentile(durs, 0.95), percentile(durs, 0.99)})
		durs, errs = nil, 0
	}
	err := a.query(ctx, op, q, args, func(r *sqlx.Rows) error {
		k, b, dest := scanKeys()
		var d float64
		var e int64
		if err := r.Scan(append(dest, &d, &e)...); err != nil {
			return err
		}
		if !b.Time.Equal(curB) || !slices.EqualFunc(k, cur, func(x, y []byte) bool { return string(x) == string(y) && (x == nil) == (y == nil) }) {
			flush()
			cur, curB = k, b.Time
		}
		durs = append(durs, d)
		errs += e
		return nil
	})
	if err != nil {
		return err
	}
	flush()
	return nil
}

// sortStats sorts stats by count (most first), then name.
func sortStats(out []PerfStat) {
	slices.SortFunc(out, func(x, y PerfStat) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return cmp.Compare(x.Name, y.Name)
	})
}

// percentile returns the p-th percentile (0 <= p <= 1) of the sorted values
// by linear interpolation between the two nearest ranks, as Postgres's
// percentile_cont: the value at rank p*(n-1), counting from 0.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := p * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

func nanos(f float64) time.Duration { return time.Duration(math.Round(f)) }
