package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/eventcheck"
	"github.com/google/uuid"
)

// Options configure a [Store]. The zero value means the defaults.
type Options struct {
	// ActivityWindow is how far back [Store.Activity] looks when not told.
	// Default 7 days (Datagrok's Activity pane); zero or negative means the
	// default.
	ActivityWindow time.Duration

	// Now returns the current time; Activity's window ends at it. Default
	// [time.Now].
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.ActivityWindow <= 0 {
		o.ActivityWindow = 7 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Store is an in-memory audit store. The zero value is not usable; call [New].
type Store struct {
	opts   Options
	mu     sync.RWMutex
	events []audit.Event // oldest first, so that new events append
	ids    map[uuid.UUID]struct{}
	seen   map[string]struct{} // the user ids of the events
	dir    directory
	closed bool
}

var (
	_ audit.Store  = (*Store)(nil)
	_ audit.Reader = (*Store)(nil)
	_ audit.Closer = (*Store)(nil)
)

// New returns an empty Store. Every Options value is valid.
func New(opts Options) *Store {
	return &Store{opts: opts.withDefaults(), ids: make(map[uuid.UUID]struct{}), seen: make(map[string]struct{})}
}

// Write stores the events that are not stored yet, all of them or, when one
// is invalid, none. See the package documentation for the rules.
func (s *Store) Write(ctx context.Context, events []audit.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range events {
		if err := eventcheck.Check(&events[i]); err != nil {
			return fmt.Errorf("memory: event %d (%s): %w", i, events[i].ID, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memory: write: %w", audit.ErrClosed)
	}
	for i := range events {
		if _, ok := s.ids[events[i].ID]; ok {
			continue
		}
		e := clone(&events[i])
		e.Time = e.Time.UTC().Truncate(time.Microsecond)
		at, _ := slices.BinarySearchFunc(s.events, e, oldestFirst)
		s.events = slices.Insert(s.events, at, e)
		s.ids[e.ID] = struct{}{}
		if e.UserID != "" {
			s.seen[e.UserID] = struct{}{}
		}
	}
	return nil
}

// oldestFirst is the reverse of audit.NewestFirst.
func oldestFirst(a, b audit.Event) int { return audit.NewestFirst(b, a) }

// clone copies e so that neither the caller nor the store sees the other's
// changes to Params. Empty Params become nil.
func clone(e *audit.Event) audit.Event {
	c := *e
	c.Params = nil
	if len(e.Params) > 0 {
		c.Params = slices.Clone(e.Params)
	}
	return c
}

// Read returns the events that match q, newest first, one page at a time.
// A q.After that [audit.DecodeCursor] rejects returns an error wrapping
// [audit.ErrInvalidCursor].
func (s *Store) Read(ctx context.Context, q audit.Query) (audit.Page, error) {
	if err := ctx.Err(); err != nil {
		return audit.Page{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return audit.Page{}, fmt.Errorf("memory: read: %w", audit.ErrClosed)
	}
	end := len(s.events) // the events to list are s.events[:end], newest last
	if q.After != "" {
		t, id, err := audit.DecodeCursor(q.After)
		if err != nil {
			return audit.Page{}, fmt.Errorf("memory: read: %w", err)
		}
		// Skip the events not strictly older than the cursor at once;
		// Matches would skip them too, one by one.
		end, _ = slices.BinarySearchFunc(s.events, audit.Event{Time: t, ID: id}, oldestFirst)
		q.After = ""
	}
	size := q.PageSize()
	var page audit.Page
	for i := end - 1; i >= 0; i-- {
		e := &s.events[i]
		ok, err := q.Matches(e)
		if err != nil {
			return audit.Page{}, fmt.Errorf("memory: read: %w", err)
		}
		if !ok {
			continue
		}
		if len(page.Events) == size {
			last := &page.Events[size-1]
			page.Next = audit.EncodeCursor(last.Time, last.ID)
			break
		}
		page.Events = append(page.Events, clone(e))
	}
	return page, nil
}

// Activity returns every event that names the object in a param (Datagrok's
// Activity pane), newest first, from since until now. A zero since means the
// last Options.ActivityWindow (7 days by default). An empty obj.Kind matches
// references of any kind.
func (s *Store) Activity(ctx context.Context, obj audit.Entity, since time.Time) ([]audit.Event, error) {
	if since.IsZero() {
		since = s.opts.Now().Add(-s.opts.ActivityWindow)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("memory: activity: %w", audit.ErrClosed)
	}
	q := audit.Query{Object: &obj, Since: since}
	var out []audit.Event
	for i := len(s.events) - 1; i >= 0; i-- {
		if ok, _ := q.Matches(&s.events[i]); ok { // no cursor: no error
			out = append(out, clone(&s.events[i]))
		}
	}
	return out, nil
}

// Len returns the number of events stored.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.events)
}

// Close releases the events; Write and Read fail afterwards. Close is
// idempotent and always returns nil.
func (s *Store) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.events, s.ids = nil, nil
	return nil
}
