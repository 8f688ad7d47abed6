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
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return audit.Page{}, err
	}
	defer rows.Close()
	var events []audit.Event
	var scan EventScan
	dest := scan.Dest()
	for rows.Next() {
		scan = EventScan{}
		if err := rows.Scan(dest...); err != nil {
			return audit.Page{}, err
		}
		e, err := scan.Event()
		if err != nil {
			return audit.Page{}, fmt.Errorf("event %s: %w", scan.ID, err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return audit.Page{}, err
	}
	rows.Close()

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
