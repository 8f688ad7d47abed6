package analysis

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// ErrorsRequest asks for the errors of a window and the actions that lead to
// them ([Analyzer.Errors]).
type ErrorsRequest struct {
	// Since (inclusive) and Until (exclusive) bound the window. Default:
	// the DefaultWindow (7 days) ending now.
	Since, Until time.Time
	// Fingerprint, when set, restricts the report to the errors of this
	// fingerprint (and the actions to those that lead to them). Default:
	// every error.
	Fingerprint string
	// Limit caps the number of error groups, most frequent kept. Default
	// 20; at most audit.MaxLimit.
	Limit int
	// Horizon is how many of the next events of the same session count as
	// "leading to" an error. Default 3.
	Horizon int
	// MinSupport is how many times a record type must occur (in sessions,
	// in the window) to be ranked as an action. Default 10.
	MinSupport int
	// Scope keeps the events of some users, groups and levels: the errors
	// reported are those of the scope, and the actions ranked are the
	// events of the scope in sessions.
	Scope
}

// ErrorGroup is the errors of one fingerprint. Errors without a stack
// trace (no fingerprint) are grouped by message instead.
type ErrorGroup struct {
	// Fingerprint is the errors' stack fingerprint; empty for errors
	// without a stack, which are grouped by Message.
	Fingerprint string `json:"fingerprint"`
	// Count is the number of errors; Users the number of distinct users
	// they happened to.
	Count int64 `json:"count"`
	Users int64 `json:"users"`
	// FirstSeen and LastSeen are the times of the first and last error of
	// the group in the window.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Sample is the newest error of the group, with its message, stack
	// trace and params.
	Sample audit.Event `json:"sample"`
}

// Action is a record type ranked by how much more often than the other
// events it precedes an error.
type Action struct {
	// Type is the record type.
	Type string `json:"type"`
	// Count is how many events of the type there are in sessions in the
	// window; Followed how many of them an error follows within the
	// Horizon.
	Count    int64 `json:"count"`
	Followed int64 `json:"followed"`
	// Rate is Followed/Count; Lift is Rate divided by the base rate (the
	// same ratio over every non-error event): 2 means the type precedes
	// errors twice as often as events do in general.
	Rate float64 `json:"rate"`
	Lift float64 `json:"lift"`
}

// ErrorsResult is the error report of a window.
type ErrorsResult struct {
	Window Window `json:"window"`
	// Total is the number of errors in the window (of the Fingerprint, if
	// one was asked for).
	Total int64 `json:"total"`
	// Groups are the error groups, most errors first (then by last seen,
	// newest first).
	Groups []ErrorGroup `json:"groups"`
	// Bucket is the width of the buckets of OverTime: [BucketFor] the
	// window's length.
	Bucket time.Duration `json:"bucket_ms"`
	// OverTime counts the errors (of the Fingerprint, if one was asked
	// for) per bucket, every bucket of the window included.
	OverTime []TimeCount `json:"over_time"`
	// BaseRate is the fraction of non-error events in sessions that an
	// error follows within the Horizon.
	BaseRate float64 `json:"base_rate"`
	// Actions are the record types with at least MinSupport events and at
	// least one followed by an error, by Lift (highest first), then
	// Followed, then Type.
	Actions []Action `json:"actions"`
}

// Errors groups the errors of the window by fingerprint (count, users
// affected, first and last seen, the newest as a sample with its message and
// stack), counts them over time and ranks the actions that lead to them.
//
// Actions: within each session, events are ordered by (event_time, id); an
// event that is not an error is "followed" when one of the next Horizon
// events of its session is an error (of the Fingerprint, if given). This
// is one window function, max(is error) OVER (PARTITION BY session_id
// ORDER BY event_time, id ROWS BETWEEN 1 FOLLOWING AND Horizon FOLLOWING),
// then a GROUP BY record type. For each type T, Rate = P(followed | T) and
// Lift = Rate / P(followed); types with fewer than MinSupport events are
// left out, as too rare to rank. Events without a session take no part.
func (a *Analyzer) Errors(ctx context.Context, req ErrorsRequest) (ErrorsResult, error) {
	w, err := a.window(req.Since, req.Until, DefaultWindow)
	if err != nil {
		return ErrorsResult{}, err
	}
	limit, err := limitOf("Limit", req.Limit, 20, audit.MaxLimit)
	if err != nil {
		return ErrorsResult{}, fmt.Errorf("analysis: errors: %w", err)
	}
	horizon, err := limitOf("Horizon", req.Horizon, 3, 1000)
	if err != nil {
		return ErrorsResult{}, fmt.Errorf("analysis: errors: %w", err)
	}
	minSupport, err := limitOf("MinSupport", req.MinSupport, 10, math.MaxInt)
	if err != nil {
		return ErrorsResult{}, fmt.Errorf("analysis: errors: %w", err)
	}
	res := ErrorsResult{Window: w}

	f := driver.NewWhere(a.d)
	f.Window(w.Since, w.Until)
	sc, err := a.resolve(ctx, req.Scope, f)
	if err != nil {
		return ErrorsResult{}, err
	}
	f.ErrorsOnly()
	sc.apply(f)
	if req.Fingerprint != "" {
		f.Text("e.error_stack_trace_hash", []string{req.Fingerprint})
	}
	type group struct {
		ErrorGroup
		fp     *string
		fpRaw  []byte
		msg    *string
		msgRaw []byte
	}
	var groups []group
	q, args := `SELECT e.error_stack_trace_hash, e.error_stack_trace_hash_raw,
 CASE WHEN e.error_stack_trace_hash IS NULL THEN e.description END AS m,
 CASE WHEN e.error_stack_trace_hash IS NULL THEN e.description_raw END AS mr,
 count(*) AS n, count(DISTINCT e.user_id), min(e.event_time), max(e.event_time)
FROM {events} e WHERE `+f.String()+`
GROUP BY e.error_stack_trace_hash, e.error_stack_trace_hash_raw, m, mr`, f.Args()
	if sp, rolled, err := a.span(ctx, w, true, sc, driver.RollupErrors); err != nil {
		return ErrorsResult{}, err
	} else if rolled {
		q, args = a.errorGroupsSQL(sp, sc, req.Fingerprint)
	}
	err = a.query(ctx, "errors", q, args, func(r *sqlx.Rows) error {
		var g group
		var first, last driver.ScanTime
		if err := r.Scan(&g.fp, &g.fpRaw, &g.msg, &g.msgRaw, &g.Count, &g.Users, &first, &last); err != nil {
			return err
		}
		g.Fingerprint = optText(g.fp, g.fpRaw)
		g.FirstSeen, g.LastSeen = first.Time, last.Time
		groups = append(groups, g)
		return nil
	})
	if err != nil {
		return ErrorsResult{}, err
	}
	for _, g := range groups {
		res.Total += g.Count
	}
	res.Bucket = BucketFor(w.Duration())
	if res.OverTime, err = a.countByBucket(ctx, "errors: over time", fmt.Sprintf("SELECT %s AS b, count(*) FROM {events} e WHERE %s GROUP BY b",
		a.d.Bucket("e.event_time", res.Bucket), f.String()), f.Args(), w, res.Bucket); err != nil {
		return ErrorsResult{}, err
	}
	slices.SortFunc(groups, func(x, y group) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		if c := y.LastSeen.Compare(x.LastSeen); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Fingerprint, y.Fingerprint); c != 0 {
			return c
		}
		return cmp.Compare(optText(x.msg, x.msgRaw), optText(y.msg, y.msgRaw))
	})
	if len(groups) > limit {
		groups = groups[:limit]
	}
	// The sample of each group: its newest error, one index probe each.
	sampleOf := make([]uuid.UUID, len(groups))
	var ids []uuid.UUID
	for i, g := range groups {
		s := f.Clone()
		if g.fp != nil {
			s.Add("e.error_stack_trace_hash = ?", *g.fp)
			if g.fpRaw != nil {
				s.Add("e.error_stack_trace_hash_raw = ?", g.fpRaw)
			} else {
				s.Add("e.error_stack_trace_hash_raw IS NULL")
			}
		} else {
			s.Add("e.error_stack_trace_hash IS NULL AND e.description = ?", *g.msg)
			if g.msgRaw != nil {
				s.Add("e.description_raw = ?", g.msgRaw)
			} else {
				s.Add("e.description_raw IS NULL")
			}
		}
		sample, err := a.listIDs(ctx, "errors: sample", s, "DESC", 1)
		if err != nil {
			return ErrorsResult{}, err
		}
		if len(sample) == 1 {
			sampleOf[i] = sample[0]
			ids = append(ids, sample[0])
		}
	}
	samples, err := a.loadEvents(ctx, "errors: sample", ids)
	if err != nil {
		return ErrorsResult{}, err
	}
	byID := map[uuid.UUID]audit.Event{}
	for _, e := range samples {
		byID[e.ID] = e
	}
	for i, g := range groups {
		g.Sample = byID[sampleOf[i]]
		res.Groups = append(res.Groups, g.ErrorGroup)
	}

	res.BaseRate, res.Actions, err = a.leadingActions(ctx, w, sc, req.Fingerprint, horizon, int64(minSupport))
	return res, err
}

// leadingActions ranks the record types by how much more often than events
// in general an error follows them in their session (see [Analyzer.Errors]).
func (a *Analyzer) leadingActions(ctx context.Context, w Window, sc scope, fingerprint string, horizon int, minSupport int64) (float64, []Action, error) {
	isErr := "e.level = 'error'"
	var args []any
	if fingerprint != "" {
		fp, raw := driver.EncodeText(fingerprint)
		isErr += " AND e.error_stack_trace_hash = ?"
		args = append(args, fp)
		if raw != nil {
			isErr += " AND e.error_stack_trace_hash_raw = ?"
			args = append(args, raw)
		}
	}
	f := driver.NewWhere(a.d)
	f.Window(w.Since, w.Until)
	f.Add("e.session_id IS NOT NULL")
	sc.apply(f)
	args = append(args, f.Args()...)
	counts := map[string]*Action{}
	err := a.query(ctx, "errors: actions", fmt.Sprintf(`SELECT t.friendly_name, t.friendly_name_raw, count(*), coalesce(sum(x.followed), 0)
FROM (SELECT e.event_type_id, e.level,
  coalesce(max(CASE WHEN %s THEN 1 ELSE 0 END) OVER (PARTITION BY e.session_id ORDER BY e.event_time, e.id
   ROWS BETWEEN 1 FOLLOWING AND %d FOLLOWING), 0) AS followed
 FROM {events} e WHERE %s) x
JOIN {event_types} t ON t.id = x.event_type_id
WHERE x.level <> 'error'
GROUP BY t.friendly_name, t.friendly_name_raw`, isErr, horizon, f.String()), args, func(r *sqlx.Rows) error {
		var name string
		var raw []byte
		var n, k int64
		if err := r.Scan(&name, &raw, &n, &k); err != nil {
			return err
		}
		key := driver.DecodeText(name, raw)
		if counts[key] == nil {
			counts[key] = &Action{Type: key}
		}
		counts[key].Count += n
		counts[key].Followed += k
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	var n, k int64
	for _, c := range counts {
		n += c.Count
		k += c.Followed
	}
	if n == 0 || k == 0 {
		return 0, nil, nil
	}
	base := float64(k) / float64(n)
	var out []Action
	for _, c := range counts {
		if c.Count < minSupport || c.Followed == 0 {
			continue
		}
		c.Rate = float64(c.Followed) / float64(c.Count)
		c.Lift = c.Rate / base
		out = append(out, *c)
	}
	slices.SortFunc(out, func(x, y Action) int {
		if c := cmp.Compare(y.Lift, x.Lift); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Followed, x.Followed); c != 0 {
			return c
		}
		return cmp.Compare(x.Type, y.Type)
	})
	return base, out, nil
}

func slicesClone[T any](s []T) []T { return slices.Clone(s) }
