package driver

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// Read returns one page of the events that match q, with their params sorted
// by key, newest first (keyset pagination on (event_time, id)). Errors of
// the driver are returned as they are, for the store to translate; a bad
// cursor wraps [audit.ErrInvalidCursor].
func Read(ctx context.Context, d Dialect, db sqlx.QueryerContext, q audit.Query) (audit.Page, error) {
	query, args, err := EventsQuery(d, &q)
	if err != nil {
		return audit.Page{}, err
	}
	events, err := queryEvents(ctx, db, query, args, nil)
	if err != nil {
		return audit.Page{}, err
	}

	var page audit.Page
	if n := q.PageSize(); len(events) > n {
		events = events[:n]
		last := events[n-1]
		page.Next = audit.EncodeCursor(last.Time, last.ID)
	}
	if err := loadParams(ctx, d, db, events); err != nil {
		return audit.Page{}, fmt.Errorf("params: %w", err)
	}
	page.Events = events
	return page, nil
}

// queryEvents runs a query of events (see [EventScan]) and appends them to
// events.
func queryEvents(ctx context.Context, db sqlx.QueryerContext, query string, args []any, events []audit.Event) ([]audit.Event, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var scan EventScan
	dest := scan.Dest()
	for rows.Next() {
		scan = EventScan{}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		e, err := scan.Event()
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", scan.ID, err)
		}
		events = append(events, e)
	}
	return events, rows.Err()
}

// EventsByID returns the events with the given ids, with their params
// sorted by key, in the order of ids; an id not stored (deleted meanwhile)
// is left out. Readers that select event ids with queries of their own (the
// analysis package) load the events with it. Errors are the driver's.
func EventsByID(ctx context.Context, d Dialect, db sqlx.QueryerContext, ids []uuid.UUID) ([]audit.Event, error) {
	var found []audit.Event
	for rest := ids; len(rest) > 0; {
		chunk := rest[:min(len(rest), paramsPerQuery)]
		rest = rest[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = d.UUIDArg(id)
		}
		q := Rebind(d, "SELECT "+eventSelect+"\nFROM "+d.Table(TableEvents)+" e\nJOIN "+d.Table(TableEventTypes)+
			" t ON t.id = e.event_type_id\nLEFT JOIN "+d.Table(TableSessions)+" s ON s.id = e.session_id\nWHERE e.id IN ("+
			Placeholders(len(chunk))+")")
		var err error
		if found, err = queryEvents(ctx, db, q, args, found); err != nil {
			return nil, err
		}
	}
	byID := make(map[uuid.UUID]audit.Event, len(found))
	for _, e := range found {
		byID[e.ID] = e
	}
	events := make([]audit.Event, 0, len(found))
	for _, id := range ids {
		if e, ok := byID[id]; ok {
			events = append(events, e)
		}
	}
	return events, loadParams(ctx, d, db, events)
}

// paramsPerQuery is how many events' params one query reads.
const paramsPerQuery = 1000

// loadParams fills in the params of events, sorted by key.
func loadParams(ctx context.Context, d Dialect, db sqlx.QueryerContext, events []audit.Event) error {
	index := make(map[uuid.UUID]int, len(events))
	ids := make([]uuid.UUID, len(events))
	for i := range events {
		index[events[i].ID] = i
		ids[i] = events[i].ID
	}
	for len(ids) > 0 {
		n := min(len(ids), paramsPerQuery)
		query, args := ParamsQuery(d, ids[:n])
		ids = ids[n:]
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		var scan ValueScan
		dest := scan.Dest()
		for rows.Next() {
			scan = ValueScan{}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return err
			}
			if i, ok := index[scan.EventID]; ok {
				events[i].Params = append(events[i].Params, scan.Param())
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	for i := range events {
		slices.SortFunc(events[i].Params, func(a, b audit.Param) int { return strings.Compare(a.Key, b.Key) })
	}
	return nil
}

// Activity returns every event that names obj in a param, newest first, from
// since on, reading the pages of read (a store's Read) until the last.
func Activity(ctx context.Context, read func(context.Context, audit.Query) (audit.Page, error), obj audit.Entity, since time.Time) ([]audit.Event, error) {
	q := audit.Query{Object: &obj, Since: since, Limit: audit.MaxLimit}
	var out []audit.Event
	for {
		page, err := read(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Events...)
		if page.Next == "" {
			return out, nil
		}
		q.After = page.Next
	}
}
