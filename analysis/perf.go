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
}

// Perf returns p50/p95/p99 of the durations of each record type and each
// HTTP route, with the error rate. A duration is Event.Duration, else the
// event's numeric ms param (see [Duration]); events with neither are left
// out. On Postgres the percentiles are computed by
// percentile_cont in the GROUP BY; on SQLite, which has no percentile
// aggregate, the durations are read in order and interpolated in Go the
// same way.
func (a *Analyzer) Perf(ctx context.Context, req PerfRequest) (PerfResult, error) {
	w, err := a.window(req.Since, req.Until, DefaultWindow)
	if err != nil {
		return PerfResult{}, err
	}
	routeType := req.RouteType
	if routeType == "" {
		routeType = audit.TypeHTTPRequest
	}
	res := PerfResult{Window: w}

	f := driver.NewWhere(a.d)
	f.Window(w.Since, w.Until)
	f.Types(req.Types)
	sc, err := a.resolve(ctx, req.Scope, f)
	if err != nil {
		return PerfResult{}, err
	}
	sc.apply(f)
	if sp, rolled, err := a.span(ctx, w, true, sc, driver.RollupTypes); err != nil {
		return PerfResult{}, err
	} else if rolled {
		res.Types, err = a.perfRolled(ctx, sp, sc, req.Types)
	} else {
		res.Types, err = a.percentiles(ctx, "perf", []string{"t.friendly_name", "t.friendly_name_raw"},
			"FROM (SELECT e.event_type_id, e.level, "+durationSQL(a.d)+" AS duration_ns FROM {events} e WHERE "+f.String()+
				") e JOIN {event_types} t ON t.id = e.event_type_id WHERE e.duration_ns IS NOT NULL",
			"e.level = 'error'", f.Args(), func(key [][]byte) PerfStat {
				if key[1] != nil {
					return PerfStat{Name: string(key[1])}
				}
				return PerfStat{Name: string(key[0])}
			})
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
	res.Routes, err = a.percentiles(ctx, "perf: routes", []string{"e.route", "e.method"},
		`FROM (SELECT e.id, `+durationSQL(a.d)+` AS duration_ns,
  max(CASE WHEN p.name = 'route' THEN v.value END) AS route,
  max(CASE WHEN p.name = 'method' THEN v.value END) AS method,
  max(CASE WHEN p.name = 'status' AND p.type IN ('int64', 'uint64') THEN `+a.d.CastInt("v.value")+` END) AS status
 FROM {events} e JOIN {event_parameter_values} v ON v.event_id = e.id
 JOIN {event_parameters} p ON p.id = v.parameter_id AND p.name IN ('route', 'method', 'status')
 WHERE `+r.String()+`
 GROUP BY e.id, e.duration_ns) e
WHERE e.route IS NOT NULL AND e.duration_ns IS NOT NULL`,
		"e.status >= 400", r.Args(), func(key [][]byte) PerfStat {
			return PerfStat{Name: string(key[0]), Method: string(key[1])}
		})
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
	return res, nil
}

// percentiles groups the events of from (a FROM ... WHERE clause over
// events e) by the keys (text columns), counting those for which isErr holds
// and computing p50/p95/p99 of e.duration_ns; stat names a group from its
// keys. The result is sorted by count, then name.
func (a *Analyzer) percentiles(ctx context.Context, op string, keys []string, from, isErr string, args []any,
	stat func(key [][]byte) PerfStat) ([]PerfStat, error) {
	errExpr := "CASE WHEN " + isErr + " THEN 1 ELSE 0 END"
	groupBy := strings.Join(keys, ", ")
	var out []PerfStat
	scanKeys := func() ([][]byte, []any) {
		k := make([][]byte, len(keys))
		dest := make([]any, len(keys))
		for i := range k {
			dest[i] = &k[i]
		}
		return k, dest
	}
	if a.d.SQLPercentiles() {
		q := "SELECT " + groupBy + ", count(*), coalesce(sum(" + errExpr + "), 0)"
		for _, p := range []string{"0.5", "0.95", "0.99"} {
			q += ", percentile_cont(" + p + ") WITHIN GROUP (ORDER BY e.duration_ns)"
		}
		q += "\n" + from + "\nGROUP BY " + groupBy
		err := a.query(ctx, op, q, args, func(r *sqlx.Rows) error {
			k, dest := scanKeys()
			var n, errs int64
			var p [3]float64
			if err := r.Scan(append(dest, &n, &errs, &p[0], &p[1], &p[2])...); err != nil {
				return err
			}
			s := stat(k)
			s.Count, s.Errors = n, errs
			s.P50, s.P95, s.P99 = nanos(p[0]), nanos(p[1]), nanos(p[2])
			out = append(out, s)
			return nil
		})
		if err != nil {
			return nil, err
		}
	} else {
		// No percentile aggregate: read the durations in order, per group.
		q := "SELECT " + groupBy + ", e.duration_ns, " + errExpr + "\n" + from + "\nORDER BY " + groupBy + ", e.duration_ns"
		var cur [][]byte
		var durs []float64
		var errs int64
		flush := func() {
			if durs == nil {
				return
			}
			s := stat(cur)
			s.Count, s.Errors = int64(len(durs)), errs
			s.P50, s.P95, s.P99 = nanos(percentile(durs, 0.5)), nanos(percentile(durs, 0.95)), nanos(percentile(durs, 0.99))
			out = append(out, s)
			durs, errs = nil, 0
		}
		err := a.query(ctx, op, q, args, func(r *sqlx.Rows) error {
			k, dest := scanKeys()
			var d float64
			var e int64
			if err := r.Scan(append(dest, &d, &e)...); err != nil {
				return err
			}
			if !slices.EqualFunc(k, cur, func(x, y []byte) bool { return string(x) == string(y) && (x == nil) == (y == nil) }) {
				flush()
				cur = k
			}
			durs = append(durs, d)
			errs += e
			return nil
		})
		if err != nil {
			return nil, err
		}
		flush()
	}
	for i := range out {
		out[i].ErrorRate = float64(out[i].Errors) / float64(out[i].Count)
	}
	sortStats(out)
	return out, nil
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
