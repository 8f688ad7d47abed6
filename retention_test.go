package audit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/auditkit/audit"
)

func TestRetention(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	r := audit.Retention{Levels: map[audit.Level]time.Duration{audit.LevelDebug: 7 * audit.Day}}
	want := map[audit.Level]time.Duration{
		audit.LevelDebug: 7 * audit.Day, audit.LevelInfo: 183 * audit.Day, audit.LevelWarning: 183 * audit.Day,
		audit.LevelError: 183 * audit.Day, audit.LevelUsage: 183 * audit.Day, audit.LevelAudit: 365 * audit.Day,
	}
	cut := r.Cutoffs(now)
	for l, d := range want {
		if !cut[l].Equal(now.Add(-d)) {
			t.Errorf("%s cutoff %s, want %s", l, cut[l], now.Add(-d))
		}
	}
	if r.SessionPeriod() != 365*audit.Day {
		t.Errorf("sessions kept %s, want 365 days", r.SessionPeriod())
	}
	for _, bad := range []audit.Retention{
		{Levels: map[audit.Level]time.Duration{audit.LevelAudit: -time.Hour}},
		{Levels: map[audit.Level]time.Duration{audit.Level(42): time.Hour}},
		{Sessions: -1},
	} {
		if err := bad.Validate(); !errors.Is(err, audit.ErrInvalidOptions) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidOptions", bad, err)
		}
	}
	var rep audit.RetentionReport
	rep.Add("events", audit.LevelDebug, 3)
	rep.Add("events", audit.LevelDebug, 4)
	rep.Add("users", 0, 1)
	if rep.Count("events", audit.LevelDebug) != 7 || rep.Count("users", 0) != 1 || len(rep.Removed) != 2 {
		t.Errorf("report %+v", rep.Removed)
	}
}
