package postgres

import (
	"context"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
)

// Read returns the events that match q with their params, newest first, one
// page at a time (keyset pagination on (event_time, id)).
func (s *Store) Read(ctx context.Context, q audit.Query) (audit.Page, error) {
	if err := s.checkOpen(); err != nil {
		return audit.Page{}, err
	}
	page, err := driver.Read(ctx, s.d, s.conn.DB(), q)
	if err != nil {
		return audit.Page{}, translate("read", err)
	}
	return page, nil
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
	return driver.Activity(ctx, s.Read, obj, since)
}
