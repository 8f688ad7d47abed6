package settings

import (
	"encoding/binary"
	"slices"
	"sync"
	"time"

	"github.com/auditkit/audit"
)

// levelMask has bit l set for each level l that is logged.
type levelMask uint8

const allLevels levelMask = 1<<audit.LevelDebug | 1<<audit.LevelInfo | 1<<audit.LevelWarning |
	1<<audit.LevelError | 1<<audit.LevelAudit | 1<<audit.LevelUsage

func maskOf(levels ...audit.Level) levelMask {
	var m levelMask
	for _, l := range levels {
		m |= 1 << l
	}
	return m
}

func (m levelMask) has(l audit.Level) bool { return l < 8 && m&(1<<l) != 0 }

// selection is which (level, type) pairs a rule, or a union of rules, logs:
// a type in types is logged at the levels of its mask, any other type at the
// levels of def.
type selection struct {
	def   levelMask
	types map[string]levelMask
}

var (
	standardLevels = maskOf(audit.LevelWarning, audit.LevelError, audit.LevelAudit, audit.LevelUsage)
	offLevels      = maskOf(audit.LevelError)
)

// presetSelection returns what a preset logs before a rule's changes.
func presetSelection(p Preset) selection {
	switch p {
	case PresetVerbose:
		return selection{def: allLevels, types: map[string]levelMask{}}
	case PresetOff:
		return selection{def: offLevels, types: map[string]levelMask{audit.TypeError: allLevels}}
	default: // PresetStandard, PresetCustom
		s := selection{def: standardLevels, types: map[string]levelMask{}}
		for _, t := range StandardTypes() {
			s.types[t] = allLevels
		}
		for _, t := range NoisyTypes() {
			s.types[t] = errorLevel
		}
		return s
	}
}

// errorLevel is what a type left out still logs: its events at error level.
var errorLevel = maskOf(audit.LevelError)

// keptOf returns the levels at which rule r still logs type t when t is
// left out (a noisy type of the preset, or a type in r.Remove): error level,
// unless r removes error-level events (RemoveLevels) or t is the type
// "error" that r removes.
func keptOf(r *Rule, t string, removed bool) levelMask {
	if removed && t == audit.TypeError {
		return 0
	}
	return errorLevel &^ maskOf(r.RemoveLevels...)
}

// selectionOf returns what rule r logs.
func selectionOf(r *Rule) selection {
	s := presetSelection(r.Preset)
	if r.Preset == PresetStandard || r.Preset == PresetCustom {
		for _, t := range NoisyTypes() {
			s.types[t] = keptOf(r, t, false)
		}
	}
	for _, t := range r.Add {
		s.types[t] = allLevels
	}
	for _, t := range r.Remove {
		s.types[t] = keptOf(r, t, true)
	}
	s.def |= maskOf(r.AddLevels...)
	s.def &^= maskOf(r.RemoveLevels...)
	return s
}

// union returns what is logged when any of sels logs it.
func union(sels []selection) selection {
	if len(sels) == 1 {
		return sels[0]
	}
	u := selection{types: map[string]levelMask{}}
	for _, s := range sels {
		u.def |= s.def
		for t := range s.types {
			u.types[t] = 0
		}
	}
	for t := range u.types {
		for _, s := range sels {
			if m, ok := s.types[t]; ok {
				u.types[t] |= m
			} else {
				u.types[t] |= s.def
			}
		}
	}
	return u
}

// table is the decision table of a subject under one compiled state: what
// Binding.Route returns, precomputed.
type table struct {
	st *state
	// def is the route of an event by level, for types not in types.
	def [8]audit.Route
	// types packs the routes of a listed type: the route at level l is in
	// bits 3l to 3l+2. Nil when no type differs from def.
	types map[string]uint32
}

func (t *table) route(l audit.Level, typ string) audit.Route {
	// An untyped event is decided by its level: "" is never a listed type.
	if typ != "" && t.types != nil {
		if m, ok := t.types[typ]; ok {
			return audit.Route(m>>(3*(l&7))) & audit.RouteAll
		}
	}
	return t.def[l&7]
}

func newTable(st *state, s selection) *table {
	t := &table{st: st}
	pack := func(m levelMask) uint32 {
		var p uint32
		for l := audit.LevelDebug; l <= audit.LevelUsage; l++ {
			if m.has(l) {
				p |= uint32(st.routes[l]) << (3 * l)
			}
		}
		return p
	}
	for l := audit.LevelDebug; l <= audit.LevelUsage; l++ {
		if s.def.has(l) {
			t.def[l] = st.routes[l]
		}
	}
	def := pack(s.def)
	for typ, m := range s.types {
		if p := pack(m); p != def {
			if t.types == nil {
				t.types = make(map[string]uint32)
			}
			t.types[typ] = p
		}
	}
	return t
}

// state is a policy compiled at one instant: the rules active then, indexed
// by scope, and the decision tables made so far. It is immutable but for
// the table cache; a new policy, or a rule expiring, makes a new state.
type state struct {
	policy *Config
	at     time.Time // when compiled
	next   time.Time // when the earliest active rule expires; zero if none
	routes [8]audit.Route
	// The last active rule of each scope and id, by index in policy.Rules.
	everyone int // -1 when none
	byID     map[Scope]map[string]int
	// parents lists, for each subgroup, the groups that contain it
	// directly.
	parents map[string][]string
	// closure lists, for each subgroup, every group that contains it; nil
	// when larger than maxClosure, and then decide walks parents.
	closure map[string][]string
	// tables caches decision tables by the deciding rules' indexes.
	tables sync.Map // string -> *table
}

func routesOf(lv Levels) [8]audit.Route {
	var r [8]audit.Route
	set := func(list []audit.Level, def levelMask, route audit.Route) {
		m := def
		if list != nil {
			m = maskOf(list...)
		}
		for l := audit.LevelDebug; l <= audit.LevelUsage; l++ {
			if m.has(l) {
				r[l] |= route
			}
		}
	}
	set(lv.Store, allLevels, audit.RouteStore)
	set(lv.Export, allLevels, audit.RouteExport)
	set(lv.Print, maskOf(audit.LevelWarning, audit.LevelError), audit.RoutePrint)
	return r
}

// compile indexes the rules of p active at now. p must be valid.
func compile(p *Config, now time.Time) *state {
	st := &state{policy: p, at: now, routes: routesOf(p.Levels), everyone: -1, byID: map[Scope]map[string]int{}}
	st.setParents(parentsOf(p.Groups))
	for i := range p.Rules {
		r := &p.Rules[i]
		if !r.active(now) {
			continue
		}
		if !r.Expires.IsZero() && (st.next.IsZero() || r.Expires.Before(st.next)) {
			st.next = r.Expires
		}
		if r.Scope == ScopeEveryone {
			st.everyone = i
			continue
		}
		ids := st.byID[r.Scope]
		if ids == nil {
			ids = map[string]int{}
			st.byID[r.Scope] = ids
		}
		ids[r.ID] = i
	}
	return st
}

// decide returns the scope that decides for s and the deciding rules, by
// index, in increasing order: one rule, or one per group for
// [ScopeGroup]; none when no rule applies (the default: Standard).
func (st *state) decide(s audit.Subject) (Scope, []int) {
	one := func(scope Scope, id string) []int {
		if id == "" {
			return nil
		}
		if i, ok := st.byID[scope][id]; ok {
			return []int{i}
		}
		return nil
	}
	if r := one(ScopeSession, s.SessionID); r != nil {
		return ScopeSession, r
	}
	if r := one(ScopeUser, s.UserID); r != nil {
		return ScopeUser, r
	}
	if r := one(ScopePackage, s.Package); r != nil {
		return ScopePackage, r
	}
	var groups []int
	ids := st.byID[ScopeGroup]
	group := func(g string) {
		if i, ok := ids[g]; ok && !slices.Contains(groups, i) {
			groups = append(groups, i)
		}
	}
	for _, g := range s.Groups {
		group(g)
	}
	if st.closure != nil {
		for _, g := range s.Groups {
			for _, a := range st.closure[g] {
				group(a)
			}
		}
	} else {
		st.eachAncestor(s.Groups, group)
	}
	if groups != nil {
		slices.Sort(groups)
		return ScopeGroup, groups
	}
	if st.everyone >= 0 {
		return ScopeEveryone, []int{st.everyone}
	}
	return "", nil
}

// tableFor returns the decision table for s, from the cache when another
// subject with the same deciding rules was bound before.
func (st *state) tableFor(s audit.Subject) *table {
	_, rules := st.decide(s)
	key := make([]byte, 0, 2*len(rules))
	for _, i := range rules {
		key = binary.AppendUvarint(key, uint64(i))
	}
	if t, ok := st.tables.Load(string(key)); ok {
		return t.(*table)
	}
	t := newTable(st, st.selection(rules))
	actual, _ := st.tables.LoadOrStore(string(key), t)
	return actual.(*table)
}

func (st *state) selection(rules []int) selection {
	if len(rules) == 0 {
		return presetSelection(PresetStandard)
	}
	sels := make([]selection, len(rules))
	for k, i := range rules {
		sels[k] = selectionOf(&st.policy.Rules[i])
	}
	return union(sels)
}
