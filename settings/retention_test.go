package settings_test

import (
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/settings"
)

func TestRetention(t *testing.T) {
	p, err := settings.Parse([]byte(`{"retention": {"debug": {"days": 7}, "sessions": {"days": 400}}}`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := settings.New(p, settings.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := e.Retention()
	for l, want := range map[audit.Level]time.Duration{audit.LevelDebug: 7 * audit.Day, audit.LevelAudit: 365 * audit.Day, audit.LevelInfo: 183 * audit.Day} {
		if got := r.Period(l); got != want {
			t.Errorf("%s kept %s, want %s", l, got, want)
		}
	}
	if got := r.SessionPeriod(); got != 400*audit.Day {
		t.Errorf("sessions kept %s, want 400 days", got)
	}
	for _, bad := range []string{`{"retention": {"trace": {"days": 1}}}`, `{"retention": {"audit": {"days": -1}}}`} {
		if _, err := settings.Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), "retention.") {
			t.Errorf("Parse(%s) = %v, want an error naming the retention key", bad, err)
		}
	}
}
