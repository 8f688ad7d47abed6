package analysis

import (
	"context"
	"fmt"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/jmoiron/sqlx"
)

// Options configure an [Analyzer]. The zero value means the defaults.
type Options struct {
	// Now returns the current time: windows left open end at it. Default
	// [time.Now].
	Now func() time.Time

	// Groups returns the groups a user belongs to. Events do not record
	// groups (users and groups live in the host application, as in
	// Datagrok), so the questions about groups ([Scope.Groups], the group
	// split of [Cluster]) ask this function; a group filter also keeps the
	// members the store's directory records. Default nil: no user is in
	// any group but by the directory. [GroupMap] makes one from a map.
	Groups func(userID string) []string

	// PollInterval is how often [Analyzer.Follow] looks for new events.
	// Default 1 second.
	PollInterval time.Duration

	// NoRollups makes the window questions read the events even where the
	// store keeps rollups that cover the window (see the package doc).
	// Default false: on Postgres, Overview, Usage (of everything), Unused,
	// Patterns, Errors and Perf read the whole hours and days of their
	// windows from the rollups.
	NoRollups bool
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Groups == nil {
		o.Groups = func(string) []string { return nil }
	}
	if o.PollInterval == 0 {
		o.PollInterval = time.Second
	}
	return o
}

func (o Options) validate() error {
	if o.PollInterval < 0 {
		return fmt.Errorf("analysis: %w: PollInterval %s is negative", audit.ErrInvalidOptions, o.PollInterval)
	}
	return nil
}

// GroupMap returns an [Options.Groups] function that looks users up in m
// (user id -> groups).
func GroupMap(m map[string][]string) func(userID string) []string {
	return func(user string) []string { return m[user] }
}

// Analyzer answers the questions of the package (see the package doc) from
// the tables of a SQL store. It only reads. It is safe for concurrent use.
type Analyzer struct {
	db   driver.DB
	d    driver.Dialect
	opts Options
}

// New returns an Analyzer of a SQL store (a *postgres.Store or a
// *sqlite.Store), reading through the store's connection pool (its DB
// method) in the store's schema. The store must be migrated. Any other
// store (the memory store) is refused with an error wrapping
// [audit.ErrInvalidOptions].
//
// The analysis package imports no store: a program links the database
// drivers of the stores it imports, and only those.
func New(store audit.Reader, opts Options) (*Analyzer, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	db, err := driver.Find(store)
	if err != nil {
		return nil, fmt.Errorf("analysis: %w: %w", audit.ErrInvalidOptions, err)
	}
	return &Analyzer{db: db, d: db.Dialect, opts: opts}, nil
}

// query runs query (with {table} names and ? placeholders, see
// [driver.DB.SQL]) and calls scan for each row.
func (a *Analyzer) query(ctx context.Context, op, query string, args []any, scan func(*sqlx.Rows) error) error {
	return a.rawQuery(ctx, op, a.db.SQL(query), args, scan)
}

// Window is a time range: Since inclusive, Until exclusive.
type Window struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// Duration returns the length of the window.
func (w Window) Duration() time.Duration { return w.Until.Sub(w.Since) }

// Previous returns the window of the same length that ends where w starts.
func (w Window) Previous() Window { return Window{Since: w.Since.Add(-w.Duration()), Until: w.Since} }

// Default lengths of the windows of the requests.
const (
	// DefaultWindow is the window of most questions: 7 days, as Datagrok's
	// Activity and Usage panes.
	DefaultWindow = 7 * 24 * time.Hour
	// LongWindow is the window of the questions about habits (usage
	// patterns, unused features): 30 days.
	LongWindow = 30 * 24 * time.Hour
)

// window resolves a request's Since and Until: Until defaults to now, Since
// to Until - def. Both are rounded up to whole microseconds in UTC (stored
// times are whole microseconds, so the window keeps the same events).
func (a *Analyzer) window(since, until time.Time, def time.Duration) (Window, error) {
	if until.IsZero() {
		until = a.opts.Now()
	}
	if since.IsZero() {
		since = until.Add(-def)
	}
	w := Window{Since: driver.CeilMicro(since), Until: driver.CeilMicro(until)}
	if !w.Since.Before(w.Until) {
		return Window{}, fmt.Errorf("analysis: %w: Since %s is not before Until %s", ErrInvalidRequest, w.Since.Format(time.RFC3339Nano), w.Until.Format(time.RFC3339Nano))
	}
	return w, nil
}

// BucketFor returns the width of the time buckets of a chart over a window
// of the given length, Datagrok's rule: 10 days from 6 months (183 days) up,
// 2.5 days from 70 days, 1 day from 10 days, 4 hours from 2 days, 1 hour
// from 3 hours, else 10 minutes. Buckets start at multiples of their width
// since the Unix epoch, so daily buckets are UTC days.
func BucketFor(window time.Duration) time.Duration {
	const day = 24 * time.Hour
	switch {
	case window >= 183*day:
		return 10 * day
	case window >= 70*day:
		return 60 * time.Hour
	case window >= 10*day:
		return day
	case window >= 2*day:
		return 4 * time.Hour
	case window >= 3*time.Hour:
		return time.Hour
	}
	return 10 * time.Minute
}

// bucketStarts returns the starts of the buckets of width w that overlap win.
func bucketStarts(win Window, w time.Duration) []time.Time {
	var out []time.Time
	for t := floorTime(win.Since, w); t.Before(win.Until); t = t.Add(w) {
		out = append(out, t)
	}
	return out
}

// floorTime returns the start of the bucket of width w that holds t.
func floorTime(t time.Time, w time.Duration) time.Time {
	us := t.UnixMicro()
	wu := w.Microseconds()
	return time.UnixMicro(floorDiv(us, wu) * wu).UTC()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Count is a number of events (or users, or calls) for a key: a record
// type, a user, a group, a menu item.
type Count struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// TimeCount is a number for a time bucket starting at Start.
type TimeCount struct {
	Start time.Time `json:"start"`
	Count int64     `json:"count"`
}
