package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/sqlstore"
	"github.com/google/uuid"
)

// Read returns the events that match q with their params, newest first, one
// page at a time (keyset pagination on (event_time, id)).
func (s *Store) Read(ctx context.Context, q audit.Query) (audit.Page, error) {
	if err := s.checkOpen(); err != nil {
		return audit.Page{}, err
	}
	query, args, err := sqlstore.EventsQuery(s.d, &q)
	if err != nil {
		return audit.Page{}, fmt.Errorf("postgres: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return audit.Page{}, translate("read", err)
	}
	defer rows.Close()
	var events []audit.Event
	var scan sqlstore.EventScan
	dest := scan.Dest()
	for rows.Next() {
		scan = sqlstore.EventScan{}
		if err := rows.Scan(dest...); err != nil {
			return audit.Page{}, translate("read", err)
		}
		e, err := scan.Event()
		if err != nil {
			return audit.Page{}, fmt.Errorf("postgres: read event %s: %w", scan.ID, err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return audit.Page{}, translate("read", err)
	}
	rows.Close()

	var page audit.Page
	if n := q.PageSize(); len(events) > n {
		events = events[:n]
		last := events[n-1]
		page.Next = audit.EncodeCursor(last.Time, last.ID)
	}
	if err := s.loadParams(ctx, events); err != nil {
		return audit.Page{}, err
	}
	page.Events = events
	return page, nil
}

// loadParams fills in the params of events, sorted by key.
func (s *Store) loadParams(ctx context.Context, events []audit.Event) error {
	const perQuery = 1000
	index := make(map[uuid.UUID]int, len(events))
	ids := make([]uuid.UUID, len(events))
	for i := range events {
		index[events[i].ID] = i
		ids[i] = events[i].ID
	}
	for len(ids) > 0 {
		n := min(len(ids), perQuery)
		query, args := sqlstore.ParamsQuery(s.d, ids[:n])
		ids = ids[n:]
		rows, err := s.db.QueryContext(ctx, query, args...)
		if err != nil {
			return translate("read params", err)
		}
		var scan sqlstore.ValueScan
		dest := scan.Dest()
		for rows.Next() {
			scan = sqlstore.ValueScan{}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return translate("read params", err)
			}
			if i, ok := index[scan.EventID]; ok {
				events[i].Params = append(events[i].Params, scan.Param())
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return translate("read params", err)
		}
	}
	for i := range events {
		slices.SortFunc(events[i].Params, func(a, b audit.Param) int { return strings.Compare(a.Key, b.Key) })
	}
	return nil
}

// Activity returns every event that names the object in a param (Datagrok's
// Activity pane), newest first, from since until now. A zero since means the
// last Options.ActivityWindow (7 days by default). An empty obj.Kind matches
// references of any kind. The lookup is one index probe on the object's id,
// whether it is a UUID or not.
func (s *Store) Activity(ctx context.Context, obj audit.Entity, since time.Time) ([]audit.Event, error) {
	if since.IsZero() {
		since = s.opts.Now().Add(-s.opts.ActivityWindow)
	}
	q := audit.Query{Object: &obj, Since: since, Limit: audit.MaxLimit}
	var out []audit.Event
	for {
		page, err := s.Read(ctx, q)
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
