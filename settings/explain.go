package settings

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/auditkit/audit"
)

// Explanation is what is logged for one subject and why: the effective
// settings, as an administrator asks "what is logged for Alice, and which
// rule decides it". Get one from [Engine.Explain].
type Explanation struct {
	// Subject is the subject explained.
	Subject audit.Subject
	// Version is the version of the policy in force.
	Version int64
	// At is when the policy in force was compiled: the rules active then
	// decide. Until is when the next rule expires (zero if none), after
	// which the decisions may change.
	At, Until time.Time
	// Scope is the scope that decides for the subject; empty when no rule
	// applies and the default, Standard, does.
	Scope Scope
	// Rules are the deciding rules: one, or for [ScopeGroup] one per group
	// of the subject that has a rule (what any of them logs is logged).
	Rules []RuleRef
	// Outranked are the active rules that match the subject but do not
	// decide because a scope of higher precedence has a rule.
	Outranked []RuleRef
	// Expired are the rules that match the subject but have expired.
	Expired []RuleRef
	// Groups are the subject's groups followed by the groups that contain
	// them through nesting ([Config.Groups], [Engine.SetGroups]): every
	// group whose rules apply to the subject.
	Groups []string

	table *table
}

// RuleRef is a rule and its index in Config.Rules.
type RuleRef struct {
	Index int
	Rule  Rule
}

// String names the rule as "rules[3] (user "alice", verbose, until ...)".
func (r RuleRef) String() string { return r.Rule.describe(r.Index) }

// Explain returns the effective settings for s under the policy in force.
func (e *Engine) Explain(s audit.Subject) Explanation {
	st := e.state.Load()
	scope, rules := st.decide(s)
	x := Explanation{
		Subject: s, Version: st.policy.Version, At: st.at, Until: st.next,
		Scope: scope, table: st.tableFor(s), Groups: slices.Clone(st.expandGroups(s.Groups)),
	}
	for _, i := range rules {
		x.Rules = append(x.Rules, RuleRef{i, st.policy.Rules[i]})
	}
	for i, r := range st.policy.Rules {
		switch {
		case !st.matches(&r, s) || slices.Contains(rules, i):
		case !r.active(st.at):
			x.Expired = append(x.Expired, RuleRef{i, r})
		default:
			// A lower scope, or an earlier rule of the deciding scope and id:
			// the deciding scope is the highest with an active rule.
			x.Outranked = append(x.Outranked, RuleRef{i, r})
		}
	}
	return x
}

// matches reports whether r's scope covers s.
func (st *state) matches(r *Rule, s audit.Subject) bool {
	switch r.Scope {
	case ScopeEveryone:
		return true
	case ScopeSession:
		return r.ID == s.SessionID
	case ScopeUser:
		return r.ID == s.UserID
	case ScopePackage:
		return r.ID == s.Package
	case ScopeGroup:
		return st.memberOf(s.Groups, r.ID)
	}
	return false
}

// Route returns where an event of this level and type goes for the
// subject: what the subject's binding returns.
func (x Explanation) Route(l audit.Level, typ string) audit.Route {
	if x.table == nil {
		return 0
	}
	return x.table.route(l, typ)
}

// Why says in a sentence where an event of this level and type goes for the
// subject, and which rule decides it.
func (x Explanation) Why(l audit.Level, typ string) string {
	if !l.Valid() {
		return fmt.Sprintf("not logged: invalid level %s", l)
	}
	event := fmt.Sprintf("%s event of type %q", l, typ)
	if typ == "" {
		event = fmt.Sprintf("%s event without a type", l)
	}
	deciders := x.Rules
	if len(deciders) == 0 {
		deciders = []RuleRef{{Index: -1, Rule: Rule{Scope: ScopeEveryone, Preset: PresetStandard}}}
	}
	var yes, no []string
	for _, d := range deciders {
		logs, why := ruleWhy(&d.Rule, l, typ)
		name := d.String()
		if d.Index < 0 {
			name = "the default (standard preset, no rule applies)"
		}
		if logs {
			yes = append(yes, name+": "+why)
		} else {
			no = append(no, name+": "+why)
		}
	}
	if len(yes) == 0 {
		return fmt.Sprintf("%s: not logged, by %s", event, strings.Join(no, "; "))
	}
	by := strings.Join(yes, "; ")
	if r := x.Route(l, typ); r != 0 {
		return fmt.Sprintf("%s: %s, by %s", event, RouteString(r), by)
	}
	return fmt.Sprintf("%s: not logged: level %s is in none of the store, export and print lists, though logged by %s", event, l, by)
}

// RouteString names a route's destinations: "store+export+print", or "not
// logged" for 0.
func RouteString(r audit.Route) string {
	var parts []string
	if r&audit.RouteStore != 0 {
		parts = append(parts, "store")
	}
	if r&audit.RouteExport != 0 {
		parts = append(parts, "export")
	}
	if r&audit.RoutePrint != 0 {
		parts = append(parts, "print")
	}
	if len(parts) == 0 {
		return "not logged"
	}
	return strings.Join(parts, "+")
}

// String summarizes the explanation on a few lines.
func (x Explanation) String() string {
	var b strings.Builder
	s := x.Subject
	fmt.Fprintf(&b, "subject: user %q, groups %q, session %q, package %q\n", s.UserID, s.Groups, s.SessionID, s.Package)
	if len(x.Groups) > len(s.Groups) {
		fmt.Fprintf(&b, "through nested groups, also in: %q\n", x.Groups[len(s.Groups):])
	}
	if len(x.Rules) == 0 {
		b.WriteString("decided by: the default (standard preset, no rule applies)\n")
	} else {
		fmt.Fprintf(&b, "decided by %s: %s\n", x.Scope, joinRefs(x.Rules))
	}
	if len(x.Outranked) > 0 {
		fmt.Fprintf(&b, "outranked: %s\n", joinRefs(x.Outranked))
	}
	if len(x.Expired) > 0 {
		fmt.Fprintf(&b, "expired: %s\n", joinRefs(x.Expired))
	}
	b.WriteString("events without a listed type:")
	for _, l := range audit.Levels() {
		fmt.Fprintf(&b, " %s=%s", l, RouteString(x.Route(l, "")))
	}
	b.WriteString("\n")
	if !x.Until.IsZero() {
		fmt.Fprintf(&b, "until: %s\n", x.Until.UTC().Format(time.RFC3339))
	}
	return b.String()
}

func joinRefs(refs []RuleRef) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}

// ruleWhy reports whether r logs an event of this level and type, and why.
// It follows the same steps as selectionOf, in words.
func ruleWhy(r *Rule, l audit.Level, typ string) (bool, string) {
	switch {
	case slices.Contains(r.Add, typ):
		return true, fmt.Sprintf("adds type %q", typ)
	case slices.Contains(r.Remove, typ):
		if keptOf(r, typ, true).has(l) {
			return true, fmt.Sprintf("removes type %q but keeps its errors", typ)
		}
		return false, fmt.Sprintf("removes type %q", typ)
	}
	switch r.Preset {
	case PresetStandard, PresetCustom:
		if slices.Contains(StandardTypes(), typ) {
			return true, fmt.Sprintf("type %q is in the standard set", typ)
		}
		if slices.Contains(NoisyTypes(), typ) {
			if keptOf(r, typ, false).has(l) {
				return true, fmt.Sprintf("type %q is a noisy UI type, left out of the standard set but for its errors", typ)
			}
			return false, fmt.Sprintf("type %q is a noisy UI type, left out of the standard set", typ)
		}
	case PresetOff:
		if typ == audit.TypeError {
			return true, "the off preset keeps errors"
		}
	}
	switch {
	case slices.Contains(r.RemoveLevels, l):
		return false, fmt.Sprintf("removes level %s", l)
	case slices.Contains(r.AddLevels, l):
		return true, fmt.Sprintf("adds level %s", l)
	}
	switch r.Preset {
	case PresetVerbose:
		return true, "the verbose preset logs everything"
	case PresetOff:
		if l == audit.LevelError {
			return true, "the off preset keeps errors"
		}
		return false, "the off preset logs nothing but errors"
	}
	if standardLevels.has(l) {
		return true, fmt.Sprintf("the %s preset logs level %s", r.Preset, l)
	}
	return false, fmt.Sprintf("the %s preset does not log level %s", r.Preset, l)
}
