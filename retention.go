package audit

import (
	"context"
	"fmt"
	"time"
)

// Day is 24 hours, the unit of retention periods.
const Day = 24 * time.Hour

// Retention says how long the SQL stores keep events, per level, and the
// sessions and users that no remaining event names. The zero value means
// Datagrok's defaults ([DefaultRetention]): audit records and sessions 365
// days; errors, warnings, info and usage 183 days; debug 30 days.
type Retention struct {
	// Levels maps a level to how long its events are kept; a level that is
	// absent, or maps to 0, gets its default. Negative is an error.
	Levels map[Level]time.Duration
	// Sessions is how long a users_sessions row (by its start) and a users
	// row (by its join time) are kept once no event names them. Default
	// 365 days.
	Sessions time.Duration
	// BeforeExpire, when set, is called once per run before anything is
	// deleted, with the cutoffs: the events of level L older than
	// cutoffs[L] are about to go. An error stops the run, deleting nothing.
	BeforeExpire func(ctx context.Context, cutoffs map[Level]time.Time) error
}

// DefaultRetention returns Datagrok's retention periods.
func DefaultRetention() Retention {
	return Retention{
		Levels: map[Level]time.Duration{
			LevelAudit: 365 * Day, LevelError: 183 * Day, LevelWarning: 183 * Day,
			LevelInfo: 183 * Day, LevelUsage: 183 * Day, LevelDebug: 30 * Day,
		},
		Sessions: 365 * Day,
	}
}

// Period returns how long events of level l are kept.
func (r Retention) Period(l Level) time.Duration {
	if d := r.Levels[l]; d > 0 {
		return d
	}
	return DefaultRetention().Levels[l]
}

// SessionPeriod returns how long unused sessions and users are kept.
func (r Retention) SessionPeriod() time.Duration {
	if r.Sessions > 0 {
		return r.Sessions
	}
	return 365 * Day
}

// Cutoffs returns, for each level, the time before which its events have
// expired at now.
func (r Retention) Cutoffs(now time.Time) map[Level]time.Time {
	out := make(map[Level]time.Time, levelCount)
	for _, l := range Levels() {
		out[l] = now.Add(-r.Period(l))
	}
	return out
}

// Validate reports a negative period or an invalid level, wrapping
// [ErrInvalidOptions].
func (r Retention) Validate() error {
	for l, d := range r.Levels {
		if !l.Valid() {
			return fmt.Errorf("audit: %w: Retention.Levels: %s", ErrInvalidOptions, l)
		}
		if d < 0 {
			return fmt.Errorf("audit: %w: Retention.Levels[%s] %s is negative", ErrInvalidOptions, l, d)
		}
	}
	if r.Sessions < 0 {
		return fmt.Errorf("audit: %w: Retention.Sessions %s is negative", ErrInvalidOptions, r.Sessions)
	}
	return nil
}

// RetentionReport is what a retention run removed or, when dry, would
// remove.
type RetentionReport struct {
	// Dry is true when nothing was deleted.
	Dry bool
	// Cutoffs are the times before which each level's events expired.
	Cutoffs map[Level]time.Time
	// Removed counts the rows per table and level (Level 0 for the rows of
	// users_sessions and users, which have none), in the order they were
	// removed.
	Removed []RetentionCount
	// DroppedPartitions names the Postgres partitions dropped whole.
	DroppedPartitions []string
}

// RetentionCount is a number of rows of one table and level.
type RetentionCount struct {
	Table string
	Level Level
	Rows  int64
}

// Count returns the rows of table (and level, for events and
// event_parameter_values) that the report counts.
func (r *RetentionReport) Count(table string, l Level) int64 {
	var n int64
	for _, c := range r.Removed {
		if c.Table == table && c.Level == l {
			n += c.Rows
		}
	}
	return n
}

// Add counts n rows of table and level.
func (r *RetentionReport) Add(table string, l Level, n int64) {
	for i := range r.Removed {
		if r.Removed[i].Table == table && r.Removed[i].Level == l {
			r.Removed[i].Rows += n
			return
		}
	}
	r.Removed = append(r.Removed, RetentionCount{table, l, n})
}
