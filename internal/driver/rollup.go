package driver

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/jmoiron/sqlx"
)

// The rollup tables (see driver/pg's migration 0005): aggregates of the
// events per hour and per UTC day that the window questions read instead of
// the events where they cover the window.
const (
	TableRollupState     = "rollup_state"
	TableRollupTypes     = "rollup_types"
	TableRollupUsers     = "rollup_users"
	TableRollupUserTypes = "rollup_user_types"
	TableRollupSessions  = "rollup_sessions"
	TableRollupErrors    = "rollup_errors"
	TableRollupMenu      = "rollup_menu"
	TableRollupRoutes    = "rollup_routes"
)

// Widths of the rollup buckets, in hours (the width column).
const (
	HourWidth = 1
	DayWidth  = 24
)

// Day is the width of a daily bucket.
const Day = 24 * time.Hour

// Rollup is one rollup table: what its rows count and how the events of a
// time range aggregate into rows of it. Every row also has a width and a
// bucket (the start of its hour or day).
type Rollup struct {
	// Table is the table's name.
	Table string
	// Cols are its columns after width and bucket, comma-separated.
	Cols string
	// Raw is the select list over events e (joined with Join, if any)
	// that yields Cols, grouped by Group, for the events that also match
	// Cond (empty for all; {duration} in it is the event's duration,
	// [DurationSQL]).
	Raw, Group, Cond, Join string
	// Key are the columns that identify a row within a bucket, and Merge
	// the select list that merges the rows of one Key into one of a wider
	// bucket.
	Key, Merge string
}

const errorFields = `e.error_stack_trace_hash, e.error_stack_trace_hash_raw,
 CASE WHEN e.error_stack_trace_hash IS NULL THEN e.description END,
 CASE WHEN e.error_stack_trace_hash IS NULL THEN e.description_raw END,
 e.user_id, e.user_id_raw`

// Rollups are the rollup tables. Their Raw select lists are what
// the window questions group the events by, so that a rollup row and an
// on-the-fly aggregate of the same events are the same row.
var (
	RollupTypes = Rollup{Table: TableRollupTypes, Cols: "event_type_id, n",
		Raw: "e.event_type_id, count(*)", Group: "e.event_type_id",
		Key: "event_type_id", Merge: "event_type_id, sum(n)"}
	RollupUsers = Rollup{Table: TableRollupUsers, Cols: "user_id, user_id_raw, n",
		Raw: "e.user_id, e.user_id_raw, count(*)", Group: "e.user_id, e.user_id_raw",
		Key: "user_id, user_id_raw", Merge: "user_id, user_id_raw, sum(n)"}
	RollupUserTypes = Rollup{Table: TableRollupUserTypes, Cols: "user_id, user_id_raw, event_type_id, n",
		Raw: "e.user_id, e.user_id_raw, e.event_type_id, count(*)", Group: "e.user_id, e.user_id_raw, e.event_type_id",
		Cond: "e.user_id IS NOT NULL", Key: "user_id, user_id_raw, event_type_id", Merge: "user_id, user_id_raw, event_type_id, sum(n)"}
	RollupSessions = Rollup{Table: TableRollupSessions, Cols: "session_id, n",
		Raw: "e.session_id, count(*)", Group: "e.session_id", Cond: "e.session_id IS NOT NULL",
		Key: "session_id", Merge: "session_id, sum(n)"}
	RollupErrors = Rollup{Table: TableRollupErrors, Cols: "fp, fp_raw, msg, msg_raw, user_id, user_id_raw, n, lo, hi",
		Raw: errorFields + ", count(*), min(e.event_time), max(e.event_time)", Group: errorFields,
		Cond: "e.event_type_id IN (SELECT id FROM {event_types} WHERE source = 'error')",
		Key:  "fp, fp_raw, msg, msg_raw, user_id, user_id_raw", Merge: "fp, fp_raw, msg, msg_raw, user_id, user_id_raw, sum(n), min(lo), max(hi)"}
	RollupMenu = Rollup{Table: TableRollupMenu, Cols: "item, item_raw, n",
		Join: " JOIN {event_parameter_values} v ON v.event_id = e.id", Raw: "v.value, v.value_raw, count(*)", Group: "v.value, v.value_raw",
		Cond: "e.event_type_id IN (SELECT id FROM {event_types} WHERE friendly_name = '" + datagrok.MainMenuItemClick + "' AND friendly_name_raw IS NULL)" +
			" AND v.parameter_id IN (SELECT id FROM {event_parameters} WHERE name = 'item')",
		Key: "item, item_raw", Merge: "item, item_raw, sum(n)"}
	RollupRoutes = Rollup{Table: TableRollupRoutes, Cols: "event_type_id, route, method, n, errors",
		Join: RouteJoin, Raw: "e.event_type_id, rp.route, rp.method, count(*), coalesce(sum(CASE WHEN rp.status >= 400 THEN 1 ELSE 0 END), 0)",
		Group: "e.event_type_id, rp.route, rp.method",
		Cond:  RouteCond,
		Key:   "event_type_id, route, method", Merge: "event_type_id, route, method, sum(n), sum(errors)"}
	Rollups = []Rollup{RollupTypes, RollupUsers, RollupUserTypes, RollupSessions, RollupErrors, RollupMenu, RollupRoutes}
)

// RouteJoin pivots the route, method and status params of an event e (an
// HTTP request, see package audithttp) into rp.route, rp.method and
// rp.status, with one probe of its params.
const RouteJoin = ` CROSS JOIN LATERAL (SELECT
  max(CASE WHEN p.name = 'route' THEN v.value END) AS route,
  max(CASE WHEN p.name = 'method' THEN v.value END) AS method,
  max(CASE WHEN p.name = 'status' AND p.type IN ('int64', 'uint64') THEN CAST(v.value AS bigint) END) AS status
 FROM {event_parameter_values} v JOIN {event_parameters} p ON p.id = v.parameter_id AND p.name IN ('route', 'method', 'status')
 WHERE v.event_id = e.id) rp`

// RouteCond keeps the HTTP requests of [RollupRoutes] (with RouteJoin):
// events of a record type that has a route param, with a route and a
// duration ({duration}: [DurationSQL], see [RawRollup]).
const RouteCond = "e.event_type_id IN (SELECT event_type_id FROM {event_parameters} WHERE name = 'route')" +
	" AND rp.route IS NOT NULL AND {duration} IS NOT NULL"

// Range is a time range, From inclusive, To exclusive.
type Range struct{ From, To time.Time }

// Span is how a window splits between the rollups and the events: ranges
// read from the daily rows, from the hourly rows and from the events.
type Span struct {
	Days, Hours, Raw []Range
}

// Rolled reports whether any of the span is read from the rollups.
func (s Span) Rolled() bool { return len(s.Days)+len(s.Hours) > 0 }

// PlanSpan splits the window [since, until) given the rollups' coverage
// [covSince, covThrough) (hour-aligned): whole days from the daily rows
// when days is true, the whole hours left from the hourly rows, and the
// rest (the partial hours at the edges, what the coverage lacks) from the
// events.
func PlanSpan(since, until, covSince, covThrough time.Time, days bool) Span {
	lo := Latest(ceilTime(since, time.Hour), covSince)
	hi := Earliest(until.Truncate(time.Hour), covThrough)
	var s Span
	if !lo.Before(hi) {
		return Span{Raw: []Range{{since, until}}}
	}
	s.Raw = appendRange(s.Raw, since, lo)
	s.Raw = appendRange(s.Raw, hi, until)
	dlo, dhi := ceilTime(lo, Day), hi.Truncate(Day)
	if !days || !dlo.Before(dhi) {
		s.Hours = []Range{{lo, hi}}
		return s
	}
	s.Days = []Range{{dlo, dhi}}
	s.Hours = appendRange(s.Hours, lo, dlo)
	s.Hours = appendRange(s.Hours, dhi, hi)
	return s
}

func appendRange(rs []Range, from, to time.Time) []Range {
	if from.Before(to) {
		rs = append(rs, Range{from, to})
	}
	return rs
}

func ceilTime(t time.Time, w time.Duration) time.Time {
	if f := t.Truncate(w); !f.Equal(t) {
		return f.Add(w)
	}
	return t
}

// Latest returns the later of a and b.
func Latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Earliest returns the earlier of a and b.
func Earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ranges returns the condition that col lies in one of rs, and its args.
func ranges(d Dialect, col string, rs []Range) (string, []any) {
	var ors []string
	var args []any
	for _, r := range rs {
		ors = append(ors, "("+col+" >= ? AND "+col+" < ?)")
		args = append(args, d.TimeArg(r.From), d.TimeArg(r.To))
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// RawRollup returns the query (with {table} names and ? placeholders) of
// the rows of r that the events in the ranges rs make, grouped per hour:
// bucket, then r.Cols.
func RawRollup(d Dialect, r Rollup, rs []Range) (string, []any) {
	w := NewWhere(d)
	if r.Cond != "" {
		w.Add(strings.ReplaceAll(r.Cond, "{duration}", DurationSQL(d)))
	}
	cond, args := ranges(d, "e.event_time", rs)
	w.Add(cond, args...)
	return "SELECT " + d.Bucket("e.event_time", time.Hour) + " AS bucket, " + r.Raw + " FROM {events} e" + r.Join + " WHERE " + w.String() +
		" GROUP BY 1, " + r.Group, w.Args()
}

// Relation returns a query (with {table} names and ? placeholders) of the
// rows of r over the span s: its daily and hourly rows, and the rows the
// events of its raw ranges make on the fly (hourly). Its columns are bucket
// then r.Cols (named so with a column alias list, which Postgres has);
// wrap it as a subquery.
func Relation(d Dialect, r Rollup, s Span) (string, []any) {
	var parts []string
	var args []any
	var ors []string
	for _, x := range []struct {
		width int
		rs    []Range
	}{{DayWidth, s.Days}, {HourWidth, s.Hours}} {
		if len(x.rs) == 0 {
			continue
		}
		cond, a := ranges(d, "r.bucket", x.rs)
		ors = append(ors, "(r.width = "+strconv.Itoa(x.width)+" AND "+cond+")")
		args = append(args, a...)
	}
	if len(ors) > 0 {
		parts = append(parts, "SELECT bucket, "+r.Cols+" FROM {"+r.Table+"} r WHERE "+strings.Join(ors, " OR "))
	}
	if len(s.Raw) > 0 {
		q, a := RawRollup(d, r, s.Raw)
		parts = append(parts, "SELECT * FROM ("+q+") x (bucket, "+r.Cols+")")
		args = append(args, a...)
	}
	return strings.Join(parts, "\nUNION ALL "), args
}

// maxMS is the largest ms param read as a duration: the longest
// time.Duration, in milliseconds.
const maxMS = int64(math.MaxInt64 / int64(time.Millisecond))

// DurationSQL returns the SQL expression of the duration in nanoseconds of
// the event e: e.duration_ns, else its numeric ms param (between 0 and the
// longest time.Duration); NULL when it has neither. The CASE keeps the cast
// away from values that are not numbers.
func DurationSQL(d Dialect) string {
	return `coalesce(e.duration_ns, (SELECT m.ms * 1000000 FROM (SELECT CASE
  WHEN p.type IN ('int64', 'uint64', 'float64') AND v.value NOT IN ('NaN', '+Inf', '-Inf') THEN ` + d.CastFloat("v.value") + ` END AS ms
 FROM {event_parameter_values} v JOIN {event_parameters} p ON p.id = v.parameter_id
 WHERE v.event_id = e.id AND p.name = '` + audit.MSParam + `') m
 WHERE m.ms BETWEEN 0 AND ` + strconv.FormatInt(maxMS, 10) + ` LIMIT 1))`
}

// RollupReader is implemented by the dialects of the databases that keep
// rollups (Postgres). A reader of another (SQLite) reads the events.
type RollupReader interface {
	// RollupCoverage returns the hours [since, through) the rollups
	// cover; ok is false when there are none (not built, or tables not
	// migrated).
	RollupCoverage(ctx context.Context, db sqlx.QueryerContext) (since, through time.Time, ok bool, err error)
}
