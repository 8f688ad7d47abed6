package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/auditkit/audit/internal/driver/pg"
)

// Retain deletes what has outlived the retention (Options.RetentionPolicy,
// else Options.Retention) at Options.Now, and returns what it removed:
//
//   - The retention's BeforeExpire hook is called first, with each level's
//     cutoff, before anything is deleted; its error stops the run.
//   - Partitions whose whole range is older than every level's cutoff are
//     dropped (events' and event_parameter_values' alike); dropping waits
//     at most 500 ms for the table lock, so concurrent writers are never
//     held back longer.
//   - The other expired events are deleted level by level with their param
//     values, 5,000 events per statement, each statement its own short
//     transaction that locks only the rows it deletes.
//   - Sessions started, and users joined, before the sessions period that no
//     remaining event (or session, for users) names are deleted; a user
//     goes with its personal group.
//   - The rollups (see [Store.StartRollups]) of the days whose events went
//     are rolled up again, so that they count what remains.
//
// With dry, nothing is deleted and the report counts what would be. Of the
// stores of all processes on one schema, one runs at a time (a session
// advisory lock): Retain returns an error wrapping [ErrRetentionRunning]
// while another runs. Run it as the owner of the tables (an [AccessWriter] may
// not delete).
// On a database that holds a digest chain (package chain), the expiry is
// first recorded in the chain through Options.Chain, so that verify counts
// the removed events as expired; without Options.Chain such a database is
// refused with [audit.ErrInvalidOptions].
func (s *Store) Retain(ctx context.Context, dry bool) (audit.RetentionReport, error) {
	return s.retain(ctx, dry, false)
}

func (s *Store) retain(ctx context.Context, dry, background bool) (audit.RetentionReport, error) {
	if err := s.checkOpen(); err != nil {
		return audit.RetentionReport{}, err
	}
	pol := s.opts.Retention
	if s.opts.RetentionPolicy != nil {
		pol = s.opts.RetentionPolicy()
	}
	db := s.conn.DB()
	on, err := s.parts.Partitioned(ctx, db)
	if err != nil {
		return audit.RetentionReport{}, translate("retain", err)
	}
	r := pg.Retainer{Parts: s.parts.Partitions, DB: db, Partitioned: on}
	if dry {
		rep, err := driver.Retain(ctx, r, pol, s.opts.Now(), true)
		return rep, translate("retain", err)
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		return audit.RetentionReport{}, translate("retain", err)
	}
	defer conn.Close()
	key := pg.RetentionLockKey(s.opts.Schema)
	var got bool
	if err := conn.GetContext(ctx, &got, "SELECT pg_try_advisory_lock($1)", key); err != nil {
		return audit.RetentionReport{}, translate("retain", err)
	}
	if !got {
		if background {
			return audit.RetentionReport{}, nil
		}
		return audit.RetentionReport{}, fmt.Errorf("postgres: retain: %w", ErrRetentionRunning)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key)
	var record func(context.Context, map[audit.Level]time.Time) error
	if s.opts.Chain != nil {
		record = s.RecordExpiry
	}
	if pol, err = driver.ChainRetention(ctx, s.d, db, pol, record); err != nil {
		return audit.RetentionReport{}, translate("retain", err)
	}
	rep, err := driver.Retain(ctx, r, pol, s.opts.Now(), false)
	if len(rep.DroppedPartitions) > 0 { // a late event of their ranges makes them again
		s.parts.mu.Lock()
		clear(s.parts.known)
		s.parts.mu.Unlock()
	}
	if err != nil {
		return rep, translate("retain", err)
	}
	if err := s.rerollExpired(ctx, rep.Cutoffs); err != nil {
		return rep, err
	}
	// Partitions ahead of time, for a store that runs for months.
	return rep, translate("create partitions", s.createAhead(ctx))
}

// rerollExpired rolls up again the days of the rollups' coverage up to the
// latest cutoff whose events retention removed (those whose count no longer
// matches the rollups, as the rollup runner's check finds them), waiting
// for the rollup lock: the rollups then count what remains, at once rather
// than at the runner's next check, and also when no runner runs.
func (s *Store) rerollExpired(ctx context.Context, cutoffs map[audit.Level]time.Time) error {
	db := s.conn.DB()
	st, err := pg.ReadRollupState(ctx, db, s.d)
	if err != nil || !st.OK {
		return translate("retain: rollups", err)
	}
	var latest time.Time
	for _, c := range cutoffs {
		latest = driver.Latest(latest, c)
	}
	through := driver.Earliest(latest.UTC().Truncate(driver.Day).Add(driver.Day), st.Through)
	if !st.Since.Before(through) {
		return nil
	}
	days, err := pg.Stale(ctx, db, s.d, driver.Day, st.Since, through)
	if err != nil {
		return translate("retain: rollups", err)
	}
	for _, d := range days {
		if _, err := pg.Roll(ctx, db, s.d, s.opts.Schema, driver.Latest(d, st.Since), driver.Earliest(d.Add(driver.Day), through), true, time.Time{}); err != nil {
			return translate("retain: rollups", err)
		}
	}
	return nil
}
