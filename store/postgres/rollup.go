package postgres

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/pg"
)

// RollupOptions configure a [RollupRunner]. The zero value means the
// defaults.
type RollupOptions struct {
	// Interval is how often the runner brings the rollups up to date.
	// Default 5 seconds.
	Interval time.Duration
	// Trail is how long after an hour ends the runner, on every run,
	// compares its number of events with what the rollups count and rolls
	// it up again when they differ: events committed late, up to Trail
	// after their time, are in the rollups at the next run. Default 1
	// hour.
	Trail time.Duration
	// CheckInterval is how often the runner does the same for each day
	// of the rollups (older than Trail): events committed later still (a
	// spool replayed after an outage, say) are in the rollups within
	// CheckInterval. Default 5 minutes.
	CheckInterval time.Duration
	// Now returns the current time. Default [time.Now].
	Now func() time.Time
	// OnError receives the errors of the runs (the runner tries again at
	// the next Interval). Default: none reported.
	OnError func(error)
}

func (o RollupOptions) withDefaults() RollupOptions {
	o.Interval = cmp.Or(o.Interval, 5*time.Second)
	o.Trail = cmp.Or(o.Trail, time.Hour)
	o.CheckInterval = cmp.Or(o.CheckInterval, 5*time.Minute)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnError == nil {
		o.OnError = func(error) {}
	}
	return o
}

// RollupRunner keeps the rollup tables of a store current (see
// [Store.StartRollups]). Close stops it.
type RollupRunner struct {
	s      *Store
	opts   RollupOptions
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// StartRollups starts a goroutine that keeps the rollup tables, which the
// analysis package's window questions read, current. Every opts.Interval
// it rolls up the hours that ended since its last run, and again those of
// the last opts.Trail whose number of events changed since they were
// rolled up; every opts.CheckInterval it does the same for each day of the
// rollups. Its first run builds the rollups from the oldest event's day
// when there are none.
//
// No event is missed or counted twice: rolling up a range of hours
// recomputes its rows from the events, in one repeatable-read transaction
// (its rows are replaced, never added to), so a run sees each event of the
// range once, and a range whose events changed after it was rolled up
// differs in count from its rows until it is rolled up again. The hour in
// progress is never rolled up: the questions read it from the events.
//
// It is not in the write path: it reads what the store committed. Any
// number of processes may run one: each transaction runs while its session
// holds the schema's rollup advisory lock (pg_try_advisory_lock), so only
// one writes at a time and the others skip their turn. The role needs DELETE and UPDATE on
// the rollup tables (the store's owner; not the append-only writer of
// [Store.Grant]). Close stops it.
func (s *Store) StartRollups(opts RollupOptions) (*RollupRunner, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if opts.Interval < 0 || opts.Trail < 0 || opts.CheckInterval < 0 {
		return nil, fmt.Errorf("postgres: %w: negative RollupOptions", audit.ErrInvalidOptions)
	}
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	r := &RollupRunner{s: s, opts: opts, cancel: cancel, done: make(chan struct{})}
	go r.loop(ctx)
	return r, nil
}

func (r *RollupRunner) loop(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	for {
		if _, err := r.s.rollup(ctx, r.opts); err != nil && ctx.Err() == nil {
			r.opts.OnError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close stops the runner, interrupting a run in progress, and waits for its
// goroutine to end or ctx to be done. It is idempotent.
func (r *RollupRunner) Close(ctx context.Context) error {
	r.once.Do(r.cancel)
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("postgres: rollup: close: %w", ctx.Err())
	}
}

// Rollup does the work of one run of a [RollupRunner] with opts (its
// Interval and OnError unused) and returns: it reports false when another
// session held the rollup lock, and some of the work was left to the next
// run.
func (s *Store) Rollup(ctx context.Context, opts RollupOptions) (bool, error) {
	if err := s.checkOpen(); err != nil {
		return false, err
	}
	return s.rollup(ctx, opts.withDefaults())
}

func (s *Store) rollup(ctx context.Context, opts RollupOptions) (bool, error) {
	now := opts.Now().UTC()
	db := s.conn.DB()
	st, err := pg.ReadRollupState(ctx, db, s.d)
	if err != nil {
		return false, translate("rollup", err)
	}
	hi := now.Truncate(time.Hour)
	if !st.OK {
		return s.build(ctx, now, time.Time{}, false)
	}
	// The trailing hours already rolled up: again those whose counts
	// changed. Then the whole coverage, a day at a time, at each check.
	var stale []driver.Range
	lo := driver.Latest(st.Since, driver.Earliest(st.Through, now.Add(-opts.Trail).Truncate(time.Hour)))
	hours, err := pg.Stale(ctx, db, s.d, time.Hour, lo, st.Through)
	if err != nil {
		return false, translate("rollup", err)
	}
	for _, h := range hours {
		stale = append(stale, driver.Range{From: h, To: h.Add(time.Hour)})
	}
	var checked time.Time
	if now.Sub(st.Checked) >= opts.CheckInterval {
		checked = now
		days, err := pg.Stale(ctx, db, s.d, driver.Day, st.Since, lo)
		if err != nil {
			return false, translate("rollup: check", err)
		}
		for _, d := range days {
			stale = append(stale, driver.Range{From: driver.Latest(d, st.Since), To: driver.Earliest(d.Add(driver.Day), lo)})
		}
	}
	ran := true
	for _, r := range stale {
		ok, err := pg.Roll(ctx, db, s.d, s.opts.Schema, r.From, r.To, false, time.Time{})
		if err != nil {
			return false, translate("rollup", err)
		}
		ran = ran && ok
	}
	// The hours that ended since the last run (none: the check's time is
	// recorded all the same).
	ok, err := s.rollRange(ctx, st.Through, driver.Latest(st.Through, hi), false, checked)
	return ran && ok, err
}

// chunk is how many days one transaction rolls up at most.
const chunk = 7 * driver.Day

// rollRange rolls up [lo, hi) a chunk at a time, oldest first.
func (s *Store) rollRange(ctx context.Context, lo, hi time.Time, wait bool, checked time.Time) (bool, error) {
	ran := true
	for from := lo; ; {
		to := driver.Earliest(from.Truncate(driver.Day).Add(chunk), hi)
		if !from.Before(to) {
			to = from
		}
		ok, err := pg.Roll(ctx, s.conn.DB(), s.d, s.opts.Schema, from, to, wait, checked)
		if err != nil {
			return false, translate("rollup", err)
		}
		ran = ran && ok
		from = to
		if !from.Before(hi) {
			return ran, nil
		}
	}
}

// RebuildRollups computes the rollups again from the events, exactly, from
// since (rounded down to its UTC day; zero: the oldest event) up to the
// current hour, a day per transaction, waiting for the rollup lock of each.
// The rollups then cover since on.
func (s *Store) RebuildRollups(ctx context.Context, since time.Time) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	_, err := s.build(ctx, s.opts.Now().UTC(), since, true)
	return err
}

// build rolls up [since, now's hour), since defaulting to the oldest
// event's day (now's without events). Days before the current coverage are
// rolled newest first, so that each chunk touches it.
func (s *Store) build(ctx context.Context, now, since time.Time, wait bool) (bool, error) {
	db := s.conn.DB()
	hi := now.Truncate(time.Hour)
	if since.IsZero() {
		first, ok, err := pg.EarliestEvent(ctx, db, s.d)
		if err != nil {
			return false, translate("rollup", err)
		}
		since = hi
		if ok && first.Before(hi) {
			since = first
		}
	}
	lo := since.UTC().Truncate(driver.Day)
	st, err := pg.ReadRollupState(ctx, db, s.d)
	if err != nil {
		return false, translate("rollup", err)
	}
	ran := true
	if st.OK && lo.Before(st.Since) {
		for to := st.Since; lo.Before(to); to = to.Add(-chunk) {
			ok, err := pg.Roll(ctx, db, s.d, s.opts.Schema, driver.Latest(lo, to.Add(-chunk)), to, wait, time.Time{})
			if err != nil {
				return false, translate("rollup", err)
			}
			ran = ran && ok
		}
	}
	if st.OK && lo.After(st.Through) {
		lo = st.Through
	}
	if st.OK && lo.Before(st.Since) {
		lo = st.Since
	}
	ok, err := s.rollRange(ctx, lo, hi, wait, time.Time{})
	if err != nil {
		return false, err
	}
	if err := pg.AnalyzeRollups(ctx, db, s.d); err != nil {
		return false, translate("rollup: analyze", err)
	}
	return ran && ok, nil
}
