package driver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/auditkit/audit"
	"github.com/jmoiron/sqlx"
)

// RetainBatch is the most rows one retention statement deletes: each is its
// own short transaction, so a concurrent writer never waits long.
const RetainBatch = 5000

// Retainer is what a database does in a retention run. Every method, when
// dry, only counts into the report what it would remove.
type Retainer interface {
	// DropPartitions removes whole the partitions whose range ends at or
	// before every level's cutoff (before is the earliest cutoff),
	// counting their rows per level. Databases without partitions do
	// nothing.
	DropPartitions(ctx context.Context, before time.Time, dry bool, rep *audit.RetentionReport) error
	// DeleteEvents removes the events of level l older than before, with
	// their param values, in statements of at most [RetainBatch] events.
	DeleteEvents(ctx context.Context, l audit.Level, before time.Time, dry bool, rep *audit.RetentionReport) error
	// DeleteIdle removes the sessions started and the users joined before
	// before that no event (and, for users, no session) names.
	DeleteIdle(ctx context.Context, before time.Time, dry bool, rep *audit.RetentionReport) error
	// Reclaim gives the space freed back where the database needs asking.
	Reclaim(ctx context.Context) error
}

// Retain runs retention at now: the policy's hook with the cutoffs first
// (before anything is deleted; its error stops the run), then whole
// partitions, then each level's events, then idle sessions and users.
func Retain(ctx context.Context, r Retainer, pol audit.Retention, now time.Time, dry bool) (audit.RetentionReport, error) {
	rep := audit.RetentionReport{Dry: dry, Cutoffs: pol.Cutoffs(now)}
	if err := pol.Validate(); err != nil {
		return rep, err
	}
	earliest := now
	for _, c := range rep.Cutoffs {
		if c.Before(earliest) {
			earliest = c
		}
	}
	if pol.BeforeExpire != nil && !dry {
		if err := pol.BeforeExpire(ctx, rep.Cutoffs); err != nil {
			return rep, err
		}
	}
	if err := r.DropPartitions(ctx, earliest, dry, &rep); err != nil {
		return rep, err
	}
	for _, l := range audit.Levels() {
		if err := r.DeleteEvents(ctx, l, rep.Cutoffs[l], dry, &rep); err != nil {
			return rep, err
		}
	}
	if err := r.DeleteIdle(ctx, now.Add(-pol.SessionPeriod()), dry, &rep); err != nil {
		return rep, err
	}
	if dry {
		return rep, nil
	}
	return rep, r.Reclaim(ctx)
}

// Schedule runs run every interval in a goroutine of its own until stop is
// called; stop waits for a run under way to end (its context is cancelled).
// Errors go to onErr, which may be nil.
func Schedule(interval time.Duration, run func(context.Context) error, onErr func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := run(ctx); err != nil && onErr != nil && ctx.Err() == nil {
					onErr(err)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
		})
	}
}

// ChainRetention returns pol for a database that may hold a digest chain:
// when the chain's table has records, the returned policy's BeforeExpire
// first appends the chain's expiry record (record, with the cutoffs), so
// that verify tells the events retention removes (expired) from events
// removed by anyone else (deleted), then calls pol's own hook. A database
// with a chain and no record function (a store without a chain writer) is
// refused: deleting its events would leave the chain unverifiable.
func ChainRetention(ctx context.Context, d Dialect, db sqlx.QueryerContext, pol audit.Retention, record func(context.Context, map[audit.Level]time.Time) error) (audit.Retention, error) {
	var one int
	err := db.QueryRowxContext(ctx, "SELECT 1 FROM "+d.Table(TableDigests)+" LIMIT 1").Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return pol, nil
	}
	if err != nil {
		return pol, err
	}
	if record == nil {
		return pol, fmt.Errorf("%w: the database holds a digest chain, and retention needs the store's chain writer (Options.Chain) to record what it expires", audit.ErrInvalidOptions)
	}
	next := pol.BeforeExpire
	pol.BeforeExpire = func(ctx context.Context, cutoffs map[audit.Level]time.Time) error {
		if err := record(ctx, cutoffs); err != nil {
			return err
		}
		if next != nil {
			return next(ctx, cutoffs)
		}
		return nil
	}
	return pol, nil
}
