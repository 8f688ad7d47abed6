package driver

import (
	"context"
	"sync"
	"time"

	"github.com/auditkit/audit"
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
