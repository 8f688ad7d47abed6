package settings_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/settings"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	none = audit.Route(0)
	se   = audit.RouteStore | audit.RouteExport
	all  = audit.RouteAll
	st   = audit.RouteStore
	ex   = audit.RouteExport
)

func newEngine(t *testing.T, p settings.Config, clock *fakeClock) *settings.Engine {
	t.Helper()
	e, err := settings.New(p, clock.options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// precedencePolicy has a rule in every scope; the comments name the rules
// the cases below refer to.
func precedencePolicy() settings.Config {
	return settings.Config{Rules: []settings.Rule{
		{Scope: settings.ScopeEveryone, Preset: settings.PresetStandard},                                                   // 0
		{Scope: settings.ScopeGroup, ID: "analysts", Preset: settings.PresetCustom, Add: []string{datagrok.DialogOK}},      // 1
		{Scope: settings.ScopeGroup, ID: "devs", Preset: settings.PresetVerbose, Remove: []string{datagrok.Click}},         // 2
		{Scope: settings.ScopeGroup, ID: "ops", Preset: settings.PresetOff},                                                // 3
		{Scope: settings.ScopeUser, ID: "alice", Preset: settings.PresetOff},                                               // 4
		{Scope: settings.ScopeUser, ID: "bob", Preset: settings.PresetVerbose},                                             // 5
		{Scope: settings.ScopeSession, ID: "s1", Preset: settings.PresetVerbose},                                           // 6
		{Scope: settings.ScopePackage, ID: "charts", Preset: settings.PresetOff},                                           // 7
		{Scope: settings.ScopeUser, ID: "carol", Preset: settings.PresetCustom, Remove: []string{audit.TypeLog}},           // 8
		{Scope: settings.ScopeUser, ID: "carol", Preset: settings.PresetStandard},                                          // 9: later wins
		{Scope: settings.ScopeUser, ID: "dave", Preset: settings.PresetOff, Remove: []string{audit.TypeError}},             // 10
		{Scope: settings.ScopeUser, ID: "erin", Preset: settings.PresetOff, RemoveLevels: []audit.Level{audit.LevelError}}, // 11
		{Scope: settings.ScopeUser, ID: "frank", Preset: settings.PresetCustom,
			AddLevels: []audit.Level{audit.LevelDebug}, RemoveLevels: []audit.Level{audit.LevelUsage}}, // 12
		{Scope: settings.ScopeGroup, ID: "quiet", Preset: settings.PresetCustom, Remove: []string{audit.TypeLog}},        // 13
		{Scope: settings.ScopeUser, ID: "gina", Preset: settings.PresetCustom, Remove: []string{audit.TypeFunctionCall}}, // 14
		{Scope: settings.ScopeUser, ID: "hugo", Preset: settings.PresetCustom, Remove: []string{audit.TypeFunctionCall},
			RemoveLevels: []audit.Level{audit.LevelError}}, // 15
	}}
}

func TestPrecedence(t *testing.T) {
	e := newEngine(t, precedencePolicy(), nil)
	type check struct {
		level audit.Level
		typ   string
		want  audit.Route
	}
	cases := []struct {
		name    string
		subject audit.Subject
		scope   settings.Scope
		rules   []int
		checks  []check
	}{
		{"everyone: standard", audit.Subject{UserID: "zed"}, settings.ScopeEveryone, []int{0}, []check{
			{audit.LevelAudit, datagrok.QueryStart, se},
			{audit.LevelAudit, "my-custom-type", se},      // audit level
			{audit.LevelUsage, audit.TypeHTTPRequest, se}, // usage level
			{audit.LevelUsage, datagrok.Click, none},      // noisy
			{audit.LevelError, datagrok.Click, all},       // noisy, but an error
			{audit.LevelUsage, datagrok.DialogOK, se},     // tells which dialogs are used
			{audit.LevelUsage, datagrok.MainMenuItemClick, se},
			{audit.LevelUsage, datagrok.ViewerRendered, se},
			{audit.LevelInfo, datagrok.DatagrokStarted, se},
			{audit.LevelDebug, "", none},
			{audit.LevelInfo, "", none},
			{audit.LevelWarning, "", all}, // printed by default
			{audit.LevelError, audit.TypeError, all},
			{0, "", none},
			{7, "", none},
		}},
		{"one group adds a type", audit.Subject{UserID: "zed", Groups: []string{"analysts"}}, settings.ScopeGroup, []int{1}, []check{
			{audit.LevelUsage, datagrok.DialogOK, se},
			{audit.LevelUsage, datagrok.Click, none},
			{audit.LevelDebug, "", none},
		}},
		{"groups combine as a union", audit.Subject{UserID: "zed", Groups: []string{"devs", "analysts"}}, settings.ScopeGroup, []int{1, 2}, []check{
			{audit.LevelDebug, "", se},                // devs: verbose
			{audit.LevelUsage, datagrok.DialogOK, se}, // both
			{audit.LevelUsage, datagrok.Click, none},  // neither: devs removes it, standard leaves it out
			{audit.LevelAudit, datagrok.QueryStart, se},
		}},
		{"union: one group logs what another removes", audit.Subject{Groups: []string{"quiet", "analysts"}}, settings.ScopeGroup, []int{1, 13}, []check{
			{audit.LevelAudit, audit.TypeLog, se},
		}},
		{"a group that is off adds nothing to the union", audit.Subject{Groups: []string{"ops", "devs"}}, settings.ScopeGroup, []int{2, 3}, []check{
			{audit.LevelDebug, "", se},
			{audit.LevelUsage, datagrok.Click, none},
		}},
		{"group off alone keeps errors", audit.Subject{Groups: []string{"ops", "unknown"}}, settings.ScopeGroup, []int{3}, []check{
			{audit.LevelAudit, datagrok.QueryStart, none},
			{audit.LevelWarning, "", none},
			{audit.LevelError, audit.TypeError, all},
			{audit.LevelError, "db-error", all},
		}},
		{"user over group", audit.Subject{UserID: "alice", Groups: []string{"devs"}}, settings.ScopeUser, []int{4}, []check{
			{audit.LevelDebug, "", none},
			{audit.LevelAudit, datagrok.QueryStart, none},
			{audit.LevelError, audit.TypeError, all},
		}},
		{"session over user", audit.Subject{UserID: "alice", SessionID: "s1"}, settings.ScopeSession, []int{6}, []check{
			{audit.LevelDebug, "", se},
			{audit.LevelUsage, datagrok.Click, se},
		}},
		{"user over package", audit.Subject{UserID: "bob", Package: "charts"}, settings.ScopeUser, []int{5}, []check{
			{audit.LevelUsage, datagrok.ViewerRendered, se},
		}},
		{"package over group", audit.Subject{UserID: "zed", Groups: []string{"devs"}, Package: "charts"}, settings.ScopePackage, []int{7}, []check{
			{audit.LevelUsage, datagrok.ViewerRendered, none},
			{audit.LevelDebug, "", none},
			{audit.LevelError, audit.TypeError, all},
		}},
		{"package over everyone", audit.Subject{Package: "charts"}, settings.ScopePackage, []int{7}, []check{
			{audit.LevelAudit, audit.TypeLog, none},
		}},
		{"the later rule of one scope and id wins", audit.Subject{UserID: "carol"}, settings.ScopeUser, []int{9}, []check{
			{audit.LevelAudit, audit.TypeLog, se},
		}},
		{"errors removed explicitly by type", audit.Subject{UserID: "dave"}, settings.ScopeUser, []int{10}, []check{
			{audit.LevelError, audit.TypeError, none},
			{audit.LevelError, "db-error", all},
		}},
		{"errors removed explicitly by level", audit.Subject{UserID: "erin"}, settings.ScopeUser, []int{11}, []check{
			{audit.LevelError, audit.TypeError, all}, // the type still logs
			{audit.LevelError, "db-error", none},
		}},
		{"removing a type keeps its errors", audit.Subject{UserID: "gina"}, settings.ScopeUser, []int{14}, []check{
			{audit.LevelUsage, audit.TypeFunctionCall, none},
			{audit.LevelError, audit.TypeFunctionCall, all}, // a failed call
			{audit.LevelError, audit.TypeError, all},
		}},
		{"errors of a removed type removed explicitly", audit.Subject{UserID: "hugo"}, settings.ScopeUser, []int{15}, []check{
			{audit.LevelUsage, audit.TypeFunctionCall, none},
			{audit.LevelError, audit.TypeFunctionCall, none},
			{audit.LevelError, audit.TypeError, all}, // the type "error" is listed
		}},
		{"levels added and removed", audit.Subject{UserID: "frank"}, settings.ScopeUser, []int{12}, []check{
			{audit.LevelDebug, "", se},
			{audit.LevelUsage, "", none},
			{audit.LevelUsage, datagrok.QueryStart, se}, // listed types are decided by type
			{audit.LevelInfo, "", none},
		}},
		{"unknown ids fall through", audit.Subject{UserID: "nobody", SessionID: "s9", Package: "p", Groups: []string{"g"}}, settings.ScopeEveryone, []int{0}, []check{
			{audit.LevelAudit, audit.TypeLog, se},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := e.Bind(c.subject)
			x := e.Explain(c.subject)
			if x.Scope != c.scope {
				t.Errorf("scope = %q, want %q", x.Scope, c.scope)
			}
			var got []int
			for _, r := range x.Rules {
				got = append(got, r.Index)
			}
			if !slices.Equal(got, c.rules) {
				t.Errorf("deciding rules = %v, want %v", got, c.rules)
			}
			for _, ck := range c.checks {
				if r := b.Route(ck.level, ck.typ); r != ck.want {
					t.Errorf("Route(%s, %q) = %s, want %s (%s)", ck.level, ck.typ, settings.RouteString(r), settings.RouteString(ck.want), x.Why(ck.level, ck.typ))
				}
				if r := x.Route(ck.level, ck.typ); r != ck.want {
					t.Errorf("Explanation.Route(%s, %q) = %s, want %s", ck.level, ck.typ, settings.RouteString(r), settings.RouteString(ck.want))
				}
			}
		})
	}
}

func TestNoRulesMeansStandard(t *testing.T) {
	e := newEngine(t, settings.Config{}, nil)
	b := e.Bind(audit.Subject{UserID: "u"})
	for _, c := range []struct {
		level audit.Level
		typ   string
		want  audit.Route
	}{
		{audit.LevelAudit, datagrok.QueryStart, se},
		{audit.LevelUsage, datagrok.Click, none},
		{audit.LevelDebug, "", none},
		{audit.LevelError, audit.TypeError, all},
	} {
		if r := b.Route(c.level, c.typ); r != c.want {
			t.Errorf("Route(%s, %q) = %s, want %s", c.level, c.typ, settings.RouteString(r), settings.RouteString(c.want))
		}
	}
	if x := e.Explain(audit.Subject{}); x.Scope != "" || len(x.Rules) != 0 {
		t.Errorf("Explain: scope %q, rules %v; want the default", x.Scope, x.Rules)
	}
}

func TestLevelLists(t *testing.T) {
	p := settings.Config{
		Levels: settings.Levels{
			Store:  []audit.Level{audit.LevelAudit, audit.LevelError},
			Export: []audit.Level{audit.LevelAudit, audit.LevelUsage, audit.LevelDebug},
			Print:  []audit.Level{},
		},
		Rules: []settings.Rule{{Scope: settings.ScopeEveryone, Preset: settings.PresetVerbose}},
	}
	b := newEngine(t, p, nil).Bind(audit.Subject{})
	for _, c := range []struct {
		level audit.Level
		want  audit.Route
	}{
		{audit.LevelAudit, se},
		{audit.LevelError, st},
		{audit.LevelUsage, ex},
		{audit.LevelDebug, ex},
		{audit.LevelWarning, none},
		{audit.LevelInfo, none},
	} {
		if r := b.Route(c.level, "t"); r != c.want {
			t.Errorf("Route(%s) = %s, want %s", c.level, settings.RouteString(r), settings.RouteString(c.want))
		}
	}
}

func TestSetAppliesToExistingBindings(t *testing.T) {
	e := newEngine(t, settings.Config{}, nil)
	b := e.Bind(audit.Subject{UserID: "alice", Groups: []string{"devs"}})
	if r := b.Route(audit.LevelDebug, ""); r != none {
		t.Fatalf("before: %s", settings.RouteString(r))
	}
	if err := e.Set(settings.Config{Rules: []settings.Rule{{Scope: settings.ScopeGroup, ID: "devs", Preset: settings.PresetVerbose}}}); err != nil {
		t.Fatal(err)
	}
	if r := b.Route(audit.LevelDebug, ""); r != se {
		t.Fatalf("after: %s, want store+export", settings.RouteString(r))
	}
}

func TestSetInvalidKeepsPolicy(t *testing.T) {
	good := settings.Config{Rules: []settings.Rule{{Scope: settings.ScopeEveryone, Preset: settings.PresetVerbose}}}
	e := newEngine(t, good, nil)
	b := e.Bind(audit.Subject{})
	err := e.Set(settings.Config{Rules: []settings.Rule{{Scope: "planet", Preset: settings.PresetOff}}})
	if !errors.Is(err, settings.ErrInvalidPolicy) {
		t.Fatalf("Set(invalid) = %v, want ErrInvalidPolicy", err)
	}
	if r := b.Route(audit.LevelDebug, ""); r != se {
		t.Fatalf("after a refused Set: %s, want the old policy's store+export", settings.RouteString(r))
	}
}

func TestSetCopiesPolicy(t *testing.T) {
	p := settings.Config{Rules: []settings.Rule{{Scope: settings.ScopeGroup, ID: "devs", Preset: settings.PresetCustom, Add: []string{datagrok.Click}}}}
	e := newEngine(t, p, nil)
	p.Rules[0].ID = "ops"
	p.Rules[0].Add[0] = datagrok.DialogOK
	got := e.Policy()
	if got.Rules[0].ID != "devs" || got.Rules[0].Add[0] != datagrok.Click {
		t.Fatalf("the engine saw the caller's changes: %+v", got.Rules[0])
	}
	got.Rules[0].ID = "ops"
	if b := e.Bind(audit.Subject{Groups: []string{"devs"}}); b.Route(audit.LevelUsage, datagrok.Click) != se {
		t.Fatal("a change to the policy returned by Policy changed the decisions")
	}
}

func TestBindCopiesGroups(t *testing.T) {
	e := newEngine(t, precedencePolicy(), nil)
	groups := []string{"devs"}
	b := e.Bind(audit.Subject{Groups: groups})
	groups[0] = "ops"
	e.Set(precedencePolicy()) // force a rebind from the kept subject
	if r := b.Route(audit.LevelDebug, ""); r != se {
		t.Fatalf("Route = %s: the binding saw the caller's change to its groups", settings.RouteString(r))
	}
}

func TestClose(t *testing.T) {
	clock := newFakeClock()
	p := settings.Config{Rules: []settings.Rule{{Scope: settings.ScopeEveryone, Preset: settings.PresetVerbose, Expires: t0.Add(time.Hour)}}}
	e, err := settings.New(p, clock.options())
	if err != nil {
		t.Fatal(err)
	}
	if clock.pending() != 1 {
		t.Fatalf("%d timers pending, want 1", clock.pending())
	}
	b := e.Bind(audit.Subject{})
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if clock.pending() != 0 {
		t.Fatalf("%d timers pending after Close", clock.pending())
	}
	if err := e.Set(settings.Config{}); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("Set after Close = %v, want ErrClosed", err)
	}
	if r := b.Route(audit.LevelDebug, ""); r != se {
		t.Fatalf("after Close, bindings keep the last policy; got %s", settings.RouteString(r))
	}
}

// TestWithLogger runs the engine under a real Logger: child loggers and
// request contexts are decided per subject, and the printer gets what the
// print list says.
func TestWithLogger(t *testing.T) {
	e := newEngine(t, precedencePolicy(), nil)
	rec := &recorder{}
	l, err := audit.New(audit.Options{Store: rec, Policy: e, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	bob := l.WithUser("bob")
	alice := l.WithUser("alice", "devs")
	bob.Debug("bob debug", nil)
	alice.Debug("alice debug", nil)
	alice.Error("alice error", nil)
	ctx := audit.WithSubject(context.Background(), audit.Subject{UserID: "zed", Groups: []string{"analysts"}})
	l.For(ctx).Usage("clicked ok", nil, datagrok.DialogOK)
	l.For(ctx).Usage("clicked", nil, datagrok.Click)
	got := rec.messages()
	want := []string{"bob debug", "alice error", "clicked ok"}
	if !slices.Equal(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
}
