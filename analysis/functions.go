package analysis

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
)

// FunctionsRequest asks for the use of functions ([Analyzer.Functions]):
// the events of [audit.Logger.Call] and [audit.Do], which name the function
// in the param audit.FunctionParam ("function") and carry inputs and outputs
// as params prefixed audit.InputPrefix ("in.") and audit.OutputPrefix
// ("out.").
type FunctionsRequest struct {
	// Since (inclusive) and Until (exclusive) bound the window. Default:
	// the DefaultWindow (7 days) ending now.
	Since, Until time.Time
	// Types are the record types of calls. Default [audit.TypeFunctionCall].
	Types []string
	// Function keeps the calls of this function only. Default: all.
	Function string
	// Scope keeps the calls of some users, groups and levels.
	Scope
	// Bucket is the width of the time buckets of Series. Default:
	// [BucketFor] the window's length.
	Bucket time.Duration
	// Limit is the number of rows of Calls, newest first. Default
	// audit.DefaultLimit (100); at most audit.MaxLimit.
	Limit int
	// After continues the Calls table with older calls: pass the previous
	// FunctionsResult.Next.
	After string
}

// FunctionStat is the use of one function in the window.
type FunctionStat struct {
	Function string `json:"function"`
	// Calls counts the calls, Errors the failed ones, Users the distinct
	// users who called it.
	Calls  int64 `json:"calls"`
	Errors int64 `json:"errors"`
	Users  int64 `json:"users"`
	// AvgDuration is the mean duration ([Duration]) of the calls that have
	// one.
	AvgDuration time.Duration `json:"avg_duration_ms"`
}

// FunctionBucket is the calls of one function by one user ("" for calls
// without one) in the time bucket that starts at Start.
type FunctionBucket struct {
	Function string    `json:"function"`
	User     string    `json:"user_id"`
	Start    time.Time `json:"start"`
	Calls    int64     `json:"calls"`
	Errors   int64     `json:"errors"`
}

// Call is one function call, a row of the table of calls.
type Call struct {
	ID        uuid.UUID `json:"id"`
	Time      time.Time `json:"time"`
	User      string    `json:"user_id"`
	SessionID string    `json:"session_id"`
	Function  string    `json:"function"`
	// Inputs and Outputs are the call's params prefixed "in." and "out.",
	// with the prefix removed, sorted by key.
	Inputs  []audit.Param `json:"inputs"`
	Outputs []audit.Param `json:"outputs"`
	// Duration is how long the call took ([Duration]); zero when unknown.
	Duration time.Duration `json:"duration_ms"`
	// Error is the error message of a failed call, empty for a call that
	// succeeded.
	Error string `json:"error"`
}

// FunctionsResult is the use of functions in a window.
type FunctionsResult struct {
	Window Window `json:"window"`
	// Bucket is the width of the buckets of Series.
	Bucket time.Duration `json:"bucket_ms"`
	// Functions are the functions called, most calls first, then by name.
	Functions []FunctionStat `json:"functions"`
	// Series counts the calls per function, user and bucket, only the
	// buckets with calls, by function, user, then time.
	Series []FunctionBucket `json:"series"`
	// Calls are the newest calls (a page of Limit), with their inputs,
	// outputs, duration and error.
	Calls []Call `json:"calls"`
	// Next continues the Calls table (FunctionsRequest.After); empty on
	// the last page.
	Next string `json:"next"`
}

// Functions reports the function calls of the window: calls per function
// (count, errors, users, mean duration) and per function, user and time
// bucket, each one GROUP BY over the call events joined to their function
// param; and a page of the calls themselves, newest first, with inputs,
// outputs, duration and error.
func (a *Analyzer) Functions(ctx context.Context, req FunctionsRequest) (FunctionsResult, error) {
	w, err := a.window(req.Since, req.Until, DefaultWindow)
	if err != nil {
		return FunctionsResult{}, err
	}
	limit, err := limitOf("Limit", req.Limit, audit.DefaultLimit, audit.MaxLimit)
	if err != nil {
		return FunctionsResult{}, fmt.Errorf("analysis: functions: %w", err)
	}
	if req.Bucket < 0 {
		return FunctionsResult{}, fmt.Errorf("analysis: functions: %w: Bucket %s is negative", ErrInvalidRequest, req.Bucket)
	}
	res := FunctionsResult{Window: w, Bucket: req.Bucket}
	if res.Bucket == 0 {
		res.Bucket = BucketFor(w.Duration())
	}
	types := req.Types
	if len(types) == 0 {
		types = []string{audit.TypeFunctionCall}
	}
	f := driver.NewWhere(a.d)
	f.Window(w.Since, w.Until)
	f.Types(types)
	sc, err := a.resolve(ctx, req.Scope, f)
	if err != nil {
		return FunctionsResult{}, err
	}
	sc.apply(f)
	// The calls joined to their function param.
	join := driver.NewWhere(a.d)
	join.Add("v.parameter_id IN (SELECT id FROM {event_parameters} WHERE name = '" + audit.FunctionParam + "')")
	if req.Function != "" {
		join.Text("v.value", []string{req.Function})
	}
	from := "FROM {events} e JOIN {event_parameter_values} v ON v.event_id = e.id AND " + join.String()
	args := append(slices.Clone(join.Args()), f.Args()...)

	err = a.query(ctx, "functions", `SELECT v.value, v.value_raw, count(*),
 coalesce(sum(CASE WHEN e.level = 'error' THEN 1 ELSE 0 END), 0), count(DISTINCT e.user_id), avg(`+durationSQL(a.d)+`)
`+from+` WHERE `+f.String()+` GROUP BY v.value, v.value_raw`, args, func(r *sqlx.Rows) error {
		var s FunctionStat
		var name string
		var raw []byte
		var avg *float64
		if err := r.Scan(&name, &raw, &s.Calls, &s.Errors, &s.Users, &avg); err != nil {
			return err
		}
		s.Function = driver.DecodeText(name, raw)
		if avg != nil {
			s.AvgDuration = time.Duration(*avg + 0.5)
		}
		res.Functions = append(res.Functions, s)
		return nil
	})
	if err != nil {
		return FunctionsResult{}, err
	}
	slices.SortFunc(res.Functions, func(x, y FunctionStat) int {
		if c := cmp.Compare(y.Calls, x.Calls); c != 0 {
			return c
		}
		return cmp.Compare(x.Function, y.Function)
	})

	err = a.query(ctx, "functions: series", fmt.Sprintf(`SELECT v.value, v.value_raw, e.user_id, e.user_id_raw, %s AS b, count(*),
 coalesce(sum(CASE WHEN e.level = 'error' THEN 1 ELSE 0 END), 0)
%s WHERE %s GROUP BY v.value, v.value_raw, e.user_id, e.user_id_raw, b`, a.d.Bucket("e.event_time", res.Bucket), from, f.String()), args,
		func(r *sqlx.Rows) error {
			var s FunctionBucket
			var name string
			var raw, userRaw []byte
			var user *string
			var b driver.ScanTime
			if err := r.Scan(&name, &raw, &user, &userRaw, &b, &s.Calls, &s.Errors); err != nil {
				return err
			}
			s.Function, s.User, s.Start = driver.DecodeText(name, raw), optText(user, userRaw), b.Time
			res.Series = append(res.Series, s)
			return nil
		})
	if err != nil {
		return FunctionsResult{}, err
	}
	slices.SortFunc(res.Series, func(x, y FunctionBucket) int {
		if c := cmp.Compare(x.Function, y.Function); c != 0 {
			return c
		}
		if c := cmp.Compare(x.User, y.User); c != 0 {
			return c
		}
		return x.Start.Compare(y.Start)
	})

	if req.Function != "" {
		f.Add("EXISTS (SELECT 1 FROM {event_parameter_values} v WHERE v.event_id = e.id AND "+join.String()+")", join.Args()...)
	}
	if req.After != "" {
		t, id, err := audit.DecodeCursor(req.After)
		if err != nil {
			return FunctionsResult{}, fmt.Errorf("analysis: functions: After: %w", err)
		}
		f.Add("(e.event_time, e.id) < (?, ?)", a.d.TimeArg(t), a.d.UUIDArg(id))
	}
	ids, err := a.listIDs(ctx, "functions: calls", f, "DESC", limit+1)
	if err != nil {
		return FunctionsResult{}, err
	}
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	events, err := a.loadEvents(ctx, "functions: calls", ids)
	if err != nil {
		return FunctionsResult{}, err
	}
	for _, e := range events {
		res.Calls = append(res.Calls, callOf(e))
	}
	if n := len(events); more && n > 0 {
		res.Next = audit.EncodeCursor(events[n-1].Time, events[n-1].ID)
	}
	return res, nil
}

// callOf lays out a function-call event as a row of the table of calls.
func callOf(e audit.Event) Call {
	c := Call{ID: e.ID, Time: e.Time, User: e.UserID, SessionID: e.SessionID}
	c.Duration, _ = Duration(&e)
	if e.IsError() {
		c.Error = e.Message
	}
	for _, p := range e.Params {
		switch {
		case p.Key == audit.FunctionParam:
			c.Function = p.Value.String()
		case strings.HasPrefix(p.Key, audit.InputPrefix):
			c.Inputs = append(c.Inputs, audit.Param{Key: strings.TrimPrefix(p.Key, audit.InputPrefix), Value: p.Value})
		case strings.HasPrefix(p.Key, audit.OutputPrefix):
			c.Outputs = append(c.Outputs, audit.Param{Key: strings.TrimPrefix(p.Key, audit.OutputPrefix), Value: p.Value})
		}
	}
	return c
}
