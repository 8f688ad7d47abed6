package settings_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/settings"
)

// TestNestedGroups checks that a rule for a group applies to the members of
// its subgroups, at any depth, and only to them.
func TestNestedGroups(t *testing.T) {
	p, err := settings.Parse([]byte(`{
	  "groups": {"staff": ["analysts", "ops"], "analysts": ["interns"], "interns": []},
	  "rules": [
	    {"scope": "group", "id": "staff", "preset": "verbose"},
	    {"scope": "group", "id": "interns", "preset": "custom", "add": ["click"]}
	  ]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := settings.New(p, settings.Options{})
	if err != nil {
		t.Fatal(err)
	}
	debug := func(groups ...string) bool {
		b := e.Bind(audit.Subject{UserID: "u", Groups: groups})
		return b.Route(audit.LevelDebug, "")&audit.RouteStore != 0
	}
	for _, tc := range []struct {
		groups []string
		want   bool
	}{
		{[]string{"staff"}, true},
		{[]string{"ops"}, true},
		{[]string{"analysts"}, true},
		{[]string{"interns"}, true},                 // two levels down: staff's verbose joins interns' rule
		{[]string{"outsiders"}, false},              // PresetStandard
		{[]string{"outsiders", "interns"}, true},    // one nested group is enough
		{nil, false},                                // no group
		{[]string{"staffers", "analysts-x"}, false}, // names are exact
	} {
		if got := debug(tc.groups...); got != tc.want {
			t.Errorf("groups %q: debug stored = %v, want %v", tc.groups, got, tc.want)
		}
	}

	x := e.Explain(audit.Subject{UserID: "u", Groups: []string{"interns"}})
	if x.Scope != settings.ScopeGroup || len(x.Rules) != 2 || x.Rules[0].Index != 0 || x.Rules[1].Index != 1 {
		t.Errorf("Explain(interns) = scope %q, rules %v; want both group rules", x.Scope, x.Rules)
	}
	if want := []string{"interns", "analysts", "staff"}; !slices.Equal(x.Groups, want) {
		t.Errorf("Explain(interns).Groups = %q, want %q", x.Groups, want)
	}
	if s := x.String(); !strings.Contains(s, `through nested groups, also in: ["analysts" "staff"]`) {
		t.Errorf("Explain(interns).String() does not name the groups through nesting:\n%s", s)
	}

	// A rule for the user still beats the groups, nested or not.
	p.Rules = append(p.Rules, settings.Rule{Scope: settings.ScopeUser, ID: "carol", Preset: settings.PresetOff})
	if err := e.Set(p); err != nil {
		t.Fatal(err)
	}
	b := e.Bind(audit.Subject{UserID: "carol", Groups: []string{"interns"}})
	if r := b.Route(audit.LevelUsage, datagrok.Click); r != 0 {
		t.Errorf("carol's own rule is off, yet a click routes to %v", r)
	}

	// Changing the nesting live moves members in and out.
	p.Groups = map[string][]string{"staff": {"ops"}}
	if err := e.Set(p); err != nil {
		t.Fatal(err)
	}
	if debug("analysts") {
		t.Error("analysts left staff, yet staff's verbose rule still applies to them")
	}
	if !debug("ops") {
		t.Error("ops is still in staff, yet staff's rule no longer applies")
	}
}

func TestNestedGroupsInvalid(t *testing.T) {
	for _, tc := range []struct {
		doc, want string
	}{
		{`{"groups": {"a": ["b"], "b": ["c"], "c": ["a"]}}`, `groups["a"]: cycle: "a" -> "b" -> "c" -> "a"`},
		{`{"groups": {"x": ["y"], "y": ["z"], "z": ["y"]}}`, `groups["y"]: cycle: "y" -> "z" -> "y"`},
		{`{"groups": {"a": ["a"]}}`, `groups["a"][0]: group "a" contains itself`},
		{`{"groups": {"a": ["b", ""]}}`, `groups["a"][1]: empty group name`},
		{`{"groups": {"": ["b"]}}`, `groups: empty group name`},
		{`{"groups": {"a": "b"}}`, `groups["a"]: want a list, got a JSON string`},
		{`{"groups": {"a": [1]}}`, `groups["a"][0]: want a string, got a JSON number`},
		{`{"groups": ["a"]}`, `groups: want an object, got a JSON array`},
	} {
		_, err := settings.Parse([]byte(tc.doc))
		if err == nil || !errors.Is(err, settings.ErrInvalidPolicy) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v\nwant an ErrInvalidPolicy containing %s", tc.doc, err, tc.want)
		}
	}

	// Set refuses a cycle and keeps the policy in force.
	e, err := settings.New(settings.Config{
		Groups: map[string][]string{"staff": {"ops"}},
		Rules:  []settings.Rule{{Scope: settings.ScopeGroup, ID: "staff", Preset: settings.PresetVerbose}},
	}, settings.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Set(settings.Config{Groups: map[string][]string{"staff": {"ops"}, "ops": {"staff"}}})
	if err == nil || !strings.Contains(err.Error(), `cycle: "ops" -> "staff" -> "ops"`) {
		t.Fatalf("Set(cycle) = %v, want the cycle named", err)
	}
	if b := e.Bind(audit.Subject{Groups: []string{"ops"}}); b.Route(audit.LevelDebug, "")&audit.RouteStore == 0 {
		t.Error("a refused policy replaced the one in force")
	}
}

// TestSetGroups checks the nesting declared from Go: it adds to the
// policy's, follows each call, survives a new policy, and refuses cycles,
// alone or together with the policy's nesting.
func TestSetGroups(t *testing.T) {
	e, err := settings.New(settings.Config{
		Groups: map[string][]string{"staff": {"analysts"}},
		Rules:  []settings.Rule{{Scope: settings.ScopeGroup, ID: "staff", Preset: settings.PresetVerbose}},
	}, settings.Options{})
	if err != nil {
		t.Fatal(err)
	}
	intern := e.Bind(audit.Subject{UserID: "u", Groups: []string{"interns"}})
	debug := func(b audit.Binding) bool { return b.Route(audit.LevelDebug, "")&audit.RouteStore != 0 }
	if debug(intern) {
		t.Fatal("interns are in staff before any nesting says so")
	}
	if err := e.SetGroups(map[string][]string{"analysts": {"interns"}}); err != nil {
		t.Fatal(err)
	}
	if !debug(intern) {
		t.Error("interns in analysts (SetGroups), analysts in staff (policy): staff's rule does not apply")
	}

	// A new policy keeps the nesting set from Go.
	if err := e.Set(settings.Config{
		Groups: map[string][]string{"staff": {"analysts"}},
		Rules:  []settings.Rule{{Scope: settings.ScopeGroup, ID: "staff", Preset: settings.PresetVerbose, Comment: "v2"}},
	}); err != nil {
		t.Fatal(err)
	}
	if !debug(intern) {
		t.Error("a new policy dropped the nesting set with SetGroups")
	}

	// Cycles: alone, with the policy's nesting, and a policy closing one.
	for _, g := range []map[string][]string{
		{"a": {"b"}, "b": {"a"}},
		{"analysts": {"interns"}, "interns": {"staff"}}, // staff contains analysts in the policy
	} {
		err := e.SetGroups(g)
		if err == nil || !errors.Is(err, settings.ErrInvalidPolicy) || !strings.Contains(err.Error(), "cycle") {
			t.Errorf("SetGroups(%v) = %v, want a cycle refused", g, err)
		}
	}
	err = e.Set(settings.Config{Groups: map[string][]string{"interns": {"staff"}, "staff": {"analysts"}}})
	if err == nil || !strings.Contains(err.Error(), `cycle: "analysts" -> "interns" -> "staff" -> "analysts"`) || !strings.Contains(err.Error(), "SetGroups") {
		t.Errorf("Set closing a cycle through the SetGroups nesting = %v", err)
	}
	if !debug(intern) {
		t.Error("a refused change replaced the nesting in force")
	}

	if err := e.SetGroups(nil); err != nil {
		t.Fatal(err)
	}
	if debug(intern) {
		t.Error("SetGroups(nil) kept the nesting set before")
	}
}

// TestLongGroupChain checks that a hostile nesting, a chain of 100,000
// groups, is expanded and checked for cycles in memory proportional to its
// length, without exhausting the stack.
func TestLongGroupChain(t *testing.T) {
	const n = 100_000
	groups := make(map[string][]string, n)
	name := func(i int) string { return "g" + strconv.Itoa(i) }
	for i := range n - 1 {
		groups[name(i)] = []string{name(i + 1)}
	}
	p := settings.Config{Groups: groups, Rules: []settings.Rule{{Scope: settings.ScopeGroup, ID: name(0), Preset: settings.PresetVerbose}}}
	e, err := settings.New(p, settings.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b := e.Bind(audit.Subject{Groups: []string{name(n - 1)}}); b.Route(audit.LevelDebug, "")&audit.RouteStore == 0 {
		t.Error("the rule of the chain's top group does not reach its bottom group")
	}
	groups[name(n-1)] = []string{name(n / 2)}
	err = e.Set(p)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf(`groups["%s"]: cycle: "%[1]s" -> "%s"`, name(n/2), name(n/2+1))) {
		t.Errorf("Set(a chain closed into a cycle) = %.300v", err)
	}
}
