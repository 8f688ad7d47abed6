package settings_test

import (
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/settings"
)

// TestExpiry moves an injected clock through a policy whose time-boxed
// overrides expire one after another, and checks a binding made at the
// start, a binding made at each instant, and the explanation.
func TestExpiry(t *testing.T) {
	clock := newFakeClock()
	p := settings.Config{Rules: []settings.Rule{
		{Scope: settings.ScopeEveryone, Preset: settings.PresetStandard},
		{Scope: settings.ScopeUser, ID: "alice", Preset: settings.PresetCustom, Add: []string{datagrok.Click}},
		// Verbose for alice for the next hour: the later rule wins while active.
		{Scope: settings.ScopeUser, ID: "alice", Preset: settings.PresetVerbose, Expires: t0.Add(time.Hour)},
		// Verbose for her session for ten minutes.
		{Scope: settings.ScopeSession, ID: "s1", Preset: settings.PresetVerbose, Expires: t0.Add(10 * time.Minute)},
		// Off for everyone in "ops" for two hours, then their group has no rule.
		{Scope: settings.ScopeGroup, ID: "ops", Preset: settings.PresetOff, Expires: t0.Add(2 * time.Hour)},
		// Already expired when the policy is set: never applies.
		{Scope: settings.ScopeUser, ID: "bob", Preset: settings.PresetVerbose, Expires: t0.Add(-time.Second)},
	}}
	e := newEngine(t, p, clock)
	alice := audit.Subject{UserID: "alice", SessionID: "s1", Groups: []string{"ops"}}
	bob := audit.Subject{UserID: "bob", Groups: []string{"ops"}}
	early := map[string]audit.Binding{"alice": e.Bind(alice), "bob": e.Bind(bob)}

	type want struct {
		scope        settings.Scope
		rule         int
		debug, click audit.Route
	}
	steps := []struct {
		at          time.Duration
		alice, bob  want
		aliceExpire int // rules matching alice that have expired
	}{
		{0, want{settings.ScopeSession, 3, se, se}, want{settings.ScopeGroup, 4, none, none}, 0},
		{10*time.Minute - time.Nanosecond, want{settings.ScopeSession, 3, se, se}, want{settings.ScopeGroup, 4, none, none}, 0},
		{10 * time.Minute, want{settings.ScopeUser, 2, se, se}, want{settings.ScopeGroup, 4, none, none}, 1},
		{time.Hour - time.Nanosecond, want{settings.ScopeUser, 2, se, se}, want{settings.ScopeGroup, 4, none, none}, 1},
		{time.Hour, want{settings.ScopeUser, 1, none, se}, want{settings.ScopeGroup, 4, none, none}, 2},
		{2 * time.Hour, want{settings.ScopeUser, 1, none, se}, want{settings.ScopeEveryone, 0, none, none}, 3},
		{48 * time.Hour, want{settings.ScopeUser, 1, none, se}, want{settings.ScopeEveryone, 0, none, none}, 3},
	}
	for _, s := range steps {
		clock.Advance(t0.Add(s.at).Sub(clock.Now()))
		for name, w := range map[string]want{"alice": s.alice, "bob": s.bob} {
			subj := alice
			if name == "bob" {
				subj = bob
			}
			x := e.Explain(subj)
			if x.Scope != w.scope || len(x.Rules) != 1 || x.Rules[0].Index != w.rule {
				t.Errorf("t0+%s %s: decided by %s %v, want %s rules[%d]", s.at, name, x.Scope, x.Rules, w.scope, w.rule)
			}
			for _, b := range []audit.Binding{early[name], e.Bind(subj)} {
				if r := b.Route(audit.LevelDebug, ""); r != w.debug {
					t.Errorf("t0+%s %s: debug -> %s, want %s", s.at, name, settings.RouteString(r), settings.RouteString(w.debug))
				}
				if r := b.Route(audit.LevelUsage, datagrok.Click); r != w.click {
					t.Errorf("t0+%s %s: click -> %s, want %s", s.at, name, settings.RouteString(r), settings.RouteString(w.click))
				}
			}
		}
		if x := e.Explain(alice); len(x.Expired) != s.aliceExpire {
			t.Errorf("t0+%s: alice has %d expired rules %v, want %d", s.at, len(x.Expired), x.Expired, s.aliceExpire)
		}
	}
	if n := clock.pending(); n != 0 {
		t.Errorf("%d timers pending after every rule expired", n)
	}
}

// TestExpiryUntil checks that the explanation says when the decisions may
// next change, and that a Set reschedules the expiry timer.
func TestExpiryUntil(t *testing.T) {
	clock := newFakeClock()
	e := newEngine(t, settings.Config{Rules: []settings.Rule{
		{Scope: settings.ScopeUser, ID: "u", Preset: settings.PresetVerbose, Expires: t0.Add(time.Hour)},
		{Scope: settings.ScopeUser, ID: "v", Preset: settings.PresetVerbose, Expires: t0.Add(time.Minute)},
	}}, clock)
	if x := e.Explain(audit.Subject{}); !x.Until.Equal(t0.Add(time.Minute)) {
		t.Errorf("Until = %s, want t0+1m", x.Until)
	}
	if err := e.Set(settings.Config{}); err != nil {
		t.Fatal(err)
	}
	if n := clock.pending(); n != 0 {
		t.Errorf("%d timers pending for a policy without expiry", n)
	}
	if x := e.Explain(audit.Subject{}); !x.Until.IsZero() {
		t.Errorf("Until = %s, want zero", x.Until)
	}
}

// TestExpiryRealClock checks, with the system clock, that a rule stops
// applying on time without anything else happening.
func TestExpiryRealClock(t *testing.T) {
	e := newEngine(t, settings.Config{Rules: []settings.Rule{
		{Scope: settings.ScopeUser, ID: "u", Preset: settings.PresetVerbose, Expires: time.Now().Add(30 * time.Millisecond)},
	}}, nil)
	b := e.Bind(audit.Subject{UserID: "u"})
	if r := b.Route(audit.LevelDebug, ""); r != se {
		t.Fatalf("before expiry: %s", settings.RouteString(r))
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Route(audit.LevelDebug, "") != none {
		if time.Now().After(deadline) {
			t.Fatal("the rule still applies 10s after it expired")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
