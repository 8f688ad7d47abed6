package analysis

import (
	"context"
	"fmt"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// listIDs returns the ids (with times) of the events that match f, in the
// given order ("DESC" newest first, "ASC" oldest first), at most limit.
func (a *Analyzer) listIDs(ctx context.Context, op string, f *driver.Where, order string, limit int) ([]uuid.UUID, error) {
	q := "SELECT e.id FROM {events} e WHERE " + f.String() +
		fmt.Sprintf(" ORDER BY e.event_time %s, e.id %s LIMIT %d", order, order, limit)
	return a.queryIDs(ctx, op, q, f.Args())
}

// queryIDs returns the ids a query of one column of event ids selects.
func (a *Analyzer) queryIDs(ctx context.Context, op, q string, args []any) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := a.query(ctx, op, q, args, func(r *sqlx.Rows) error {
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
// the order of ids; those deleted in between are left out.
func (a *Analyzer) loadEvents(ctx context.Context, op string, ids []uuid.UUID) ([]audit.Event, error) {
	events, err := driver.EventsByID(ctx, a.d, a.db, ids)
	return events, a.d.Translate("analysis", op, err)
}

// rawQuery is [Analyzer.query] for queries already qualified and bound.
func (a *Analyzer) rawQuery(ctx context.Context, op, q string, args []any, scan func(*sqlx.Rows) error) error {
	rows, err := a.db.QueryxContext(ctx, q, args...)
	if err != nil {
		return a.d.Translate("analysis", op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return a.d.Translate("analysis", op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return a.d.Translate("analysis", op, err)
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
	// Scope keeps the events of some users, groups and levels.
	Scope
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
	f := driver.NewWhere(a.d)
	f.Window(w.Since, w.Until)
	f.Object(req.Object)
	sc, err := a.resolve(ctx, req.Scope, f)
	if err != nil {
		return ActivityResult{}, err
	}
	sc.apply(f)
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

// Event returns the event with the given id, with its params; an error
// wrapping [ErrNotFound] when there is none.
func (a *Analyzer) Event(ctx context.Context, id uuid.UUID) (audit.Event, error) {
	events, err := a.loadEvents(ctx, "event", []uuid.UUID{id})
	if err != nil {
		return audit.Event{}, err
	}
	if len(events) == 0 {
		return audit.Event{}, fmt.Errorf("analysis: event %s: %w", id, ErrNotFound)
	}
	return events[0], nil
}
