package settings_test

import (
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/settings"
)

// TestRouteAllocs pins the hot path at zero allocations, for enabled and
// disabled events, typed and untyped, and on the first call after a policy
// change whose table is already cached.
func TestRouteAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	e := newEngine(t, realisticPolicy(), nil)
	b := e.Bind(benchSubject)
	u := e.Bind(audit.Subject{UserID: "user-3"})
	for _, c := range []struct {
		name  string
		b     audit.Binding
		level audit.Level
		typ   string
	}{
		{"enabled", b, audit.LevelAudit, datagrok.QueryStart},
		{"disabled", b, audit.LevelUsage, datagrok.Click},
		{"untyped", b, audit.LevelDebug, ""},
		{"user", u, audit.LevelAudit, audit.TypeLog},
	} {
		if n := testing.AllocsPerRun(1000, func() { c.b.Route(c.level, c.typ) }); n != 0 {
			t.Errorf("%s: %v allocs per Route, want 0", c.name, n)
		}
	}
	if got := b.Route(audit.LevelAudit, datagrok.QueryStart); got == 0 {
		t.Error("the enabled event is not logged")
	}
	if got := b.Route(audit.LevelUsage, datagrok.Click); got != 0 {
		t.Errorf("the disabled event goes to %s", settings.RouteString(got))
	}
}
