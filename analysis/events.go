package analysis

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/sqlstore"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// filter accumulates the conditions of a WHERE clause on events e, with ?
// placeholders.
type filter struct {
	d     dialect
	conds []string
	args  []any
}

func (f *filter) add(cond string, args ...any) {
	f.conds = append(f.conds, cond)
	f.args = append(f.args, args...)
}

func (f *filter) window(w Window) {
	f.add("e.event_time >= ? AND e.event_time < ?", f.d.TimeArg(w.Since), f.d.TimeArg(w.Until))
}

// levels keeps events of the given levels (events.level).
func (f *filter) levels(ls []audit.Level) {
	if len(ls) == 0 {
		return
	}
	args := make([]any, len(ls))
	for i, l := range ls {
		args[i] = l.String()
	}
	f.add("e.level IN ("+marks(len(args))+")", args...)
}

// types keeps events of the given record types, through the event_types
// registry so that the (event_type_id, event_time) index serves them.
func (f *filter) types(ts []string) {
	if len(ts) == 0 {
		return
	}
	sub := &filter{d: f.d}
	sub.text("friendly_name", ts)
	f.add("e.event_type_id IN (SELECT id FROM {event_types} WHERE "+sub.where()+")", sub.args...)
}

// errorsOnly keeps error events, through the registry too.
func (f *filter) errorsOnly() {
	f.add("e.event_type_id IN (SELECT id FROM {event_types} WHERE source = 'error')")
}

// users keeps events of the given users ("" for events without one).
func (f *filter) users(us []string) {
	if len(us) == 0 {
		return
	}
	var ors []string
	var named []string
	for _, u := range us {
		if u == "" {
			ors = append(ors, "e.user_id IS NULL")
		} else {
			named = append(named, u)
		}
	}
	if len(named) > 0 {
		sub := &filter{d: f.d}
		sub.text("e.user_id", named)
		ors = append(ors, sub.where())
		f.args = append(f.args, sub.args...)
	}
	f.conds = append(f.conds, "("+strings.Join(ors, " OR ")+")")
}

// object keeps events with a param that references obj (any kind when
// obj.Kind is empty): one probe of the entity index on value.
func (f *filter) object(obj audit.Entity) {
	sub := &filter{d: f.d}
	sub.add("v.entity_kind IS NOT NULL")
	sub.text("v.value", []string{obj.ID})
	if obj.Kind != "" {
		sub.text("v.entity_kind", []string{obj.Kind})
	}
	f.add("e.id IN (SELECT v.event_id FROM {event_parameter_values} v WHERE "+sub.where()+")", sub.args...)
}

// text adds the condition that col (with its col_raw) holds one of values,
// byte for byte (see [sqlstore.EncodeText]).
func (f *filter) text(col string, values []string) {
	cond, args := sqlstore.MatchText(col, values)
	f.add(cond, args...)
}

func (f *filter) where() string {
	if len(f.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(f.conds, " AND ")
}

func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// listIDs returns the ids (with times) of the events that match f, in the
// given order ("DESC" newest first, "ASC" oldest first), at most limit.
func (a *Analyzer) listIDs(ctx context.Context, op string, f *filter, order string, limit int) ([]uuid.UUID, error) {
	q := "SELECT e.id FROM {events} e WHERE " + f.where() +
		fmt.Sprintf(" ORDER BY e.event_time %s, e.id %s LIMIT %d", order, order, limit)
	var ids []uuid.UUID
	err := a.query(ctx, op, q, f.args, func(r *sqlx.Rows) error {
		var id uuid.UUID
		if err := r.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// loadEvents returns the events with the given ids, with their params, in
// the order of ids.
func (a *Analyzer) loadEvents(ctx context.Context, op string, ids []uuid.UUID) ([]audit.Event, error) {
	const perQuery = 1000
	index := make(map[uuid.UUID]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	events := make([]audit.Event, len(ids))
	found := make([]bool, len(ids))
	for rest := ids; len(rest) > 0; {
		chunk := rest[:min(len(rest), perQuery)]
		rest = rest[len(chunk):]
		q, args := sqlstore.EventsByIDQuery(a.d, chunk)
		if err := a.rawQuery(ctx, op, q, args, func(r *sqlx.Rows) error {
			var scan sqlstore.EventScan
			if err := r.Scan(scan.Dest()...); err != nil {
				return err
			}
			e, err := scan.Event()
			if err != nil {
				return fmt.Errorf("event %s: %w", scan.ID, err)
			}
			if i, ok := index[e.ID]; ok {
				events[i], found[i] = e, true
			}
			return nil
		}); err != nil {
			return nil, err
		}
		q, args = sqlstore.ParamsQuery(a.d, chunk)
		if err := a.rawQuery(ctx, op, q, args, func(r *sqlx.Rows) error {
			var scan sqlstore.ValueScan
			if err := r.Scan(scan.Dest()...); err != nil {
				return err
			}
			if i, ok := index[scan.EventID]; ok {
				events[i].Params = append(events[i].Params, scan.Param())
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	out := events[:0]
	for i := range events {
		if !found[i] { // deleted in between: skip
			continue
		}
		slices.SortFunc(events[i].Params, func(a, b audit.Param) int { return strings.Compare(a.Key, b.Key) })
		out = append(out, events[i])
	}
	return out, nil
}

// rawQuery is [Analyzer.query] for queries already qualified and bound.
func (a *Analyzer) rawQuery(ctx context.Context, op, q string, args []any, scan func(*sqlx.Rows) error) error {
	rows, err := a.db.QueryxContext(ctx, q, args...)
	if err != nil {
		return a.d.translate(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return a.d.translate(op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return a.d.translate(op, err)
	}
	return nil
}

// ActivityRequest asks for the events of one object ([Analyzer.Activity]).
type ActivityRequest struct {
	// Object is the object; its ID is required. An empty Kind matches
	// references of any kind.
	Object audit.Entity
	// Since (inclusive) and Until (exclusive) bound the window. Default:
	// the DefaultWindow (7 days) ending now.
	Since, Until time.Time
	// Limit caps the number of events returned, newest kept. Default
	// 1,000; at most audit.MaxLimit.
	Limit int
}

// ActivityResult is the Activity of an object: Datagrok's Activity pane.
type ActivityResult struct {
	Object audit.Entity `json:"object"`
	Window Window       `json:"window"`
	// Events are the events that name the object in a param, newest
	// first, with their params.
	Events []audit.Event `json:"events"`
	// Truncated is true when more events than the Limit matched.
	Truncated bool `json:"truncated"`
}

// Activity returns the events that name an object in the window, newest
// first: one probe of the index on object references, then the events by
// id.
func (a *Analyzer) Activity(ctx context.Context, req ActivityRequest) (ActivityResult, error) {
	if req.Object.ID == "" {
		return ActivityResult{}, fmt.Errorf("analysis: activity: %w: Object.ID is empty", ErrInvalidRequest)
	}
	limit, err := limitOf("Limit", req.Limit, 1000, audit.MaxLimit)
	if err != nil {
		return ActivityResult{}, fmt.Errorf("analysis: activity: %w", err)
	}
	w, err := a.window(req.Since, req.Until, DefaultWindow)
	if err != nil {
		return ActivityResult{}, err
	}
	f := &filter{d: a.d}
	f.window(w)
	f.object(req.Object)
	ids, err := a.listIDs(ctx, "activity", f, "DESC", limit+1)
	if err != nil {
		return ActivityResult{}, err
	}
	res := ActivityResult{Object: req.Object, Window: w}
	if len(ids) > limit {
		ids, res.Truncated = ids[:limit], true
	}
	res.Events, err = a.loadEvents(ctx, "activity", ids)
	return res, err
}

// limitOf applies a Limit field's default and bounds.
func limitOf(field string, v, def, max int) (int, error) {
	switch {
	case v < 0:
		return 0, fmt.Errorf("%w: %s %d is negative", ErrInvalidRequest, field, v)
	case v == 0:
		return def, nil
	case v > max:
		return max, nil
	}
	return v, nil
}
