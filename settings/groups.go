package settings

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// validateGroups checks the group nesting of a policy: names are not
// empty, no group contains itself, and there is no cycle. A cycle is
// reported once, on the first group of it in name order, as the path that
// closes it: "groups.a: cycle: a -> b -> a".
func validateGroups(groups map[string][]string) []*FieldError {
	var errs []*FieldError
	names := slices.Sorted(maps.Keys(groups))
	for _, g := range names {
		if g == "" {
			errs = append(errs, fieldErr("groups", "empty group name"))
		}
		for i, sub := range groups[g] {
			switch {
			case sub == "":
				errs = append(errs, fieldErr(fmt.Sprintf("groups[%q][%d]", g, i), "empty group name"))
			case sub == g:
				errs = append(errs, fieldErr(fmt.Sprintf("groups[%q][%d]", g, i), "group %q contains itself", g))
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	// Depth-first search without recursion, so that a long chain of
	// groups cannot exhaust the stack; a group met again while on the path
	// closes a cycle.
	const (
		unseen = iota
		onPath
		done
	)
	color := map[string]int{}
	type frame struct {
		group string
		next  int // the index of the next subgroup to visit
	}
	for _, root := range names {
		if color[root] != unseen {
			continue
		}
		stack := []frame{{group: root}}
		color[root] = onPath
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			subs := groups[top.group]
			if top.next == len(subs) {
				color[top.group] = done
				stack = stack[:len(stack)-1]
				continue
			}
			sub := subs[top.next]
			top.next++
			switch color[sub] {
			case onPath:
				var cycle []string
				for i := range stack {
					if stack[i].group == sub || cycle != nil {
						cycle = append(cycle, fmt.Sprintf("%q", stack[i].group))
					}
				}
				cycle = append(cycle, fmt.Sprintf("%q", sub))
				return append(errs, fieldErr(fmt.Sprintf("groups[%q]", sub), "cycle: %s: a group may not contain itself, directly or through subgroups", strings.Join(cycle, " -> ")))
			case unseen:
				color[sub] = onPath
				stack = append(stack, frame{group: sub})
			}
		}
	}
	return nil
}

// parentsOf returns, for each group that is a subgroup, the groups that
// contain it directly, in name order.
func parentsOf(groups map[string][]string) map[string][]string {
	if len(groups) == 0 {
		return nil
	}
	parents := map[string][]string{}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		for _, sub := range groups[g] {
			if !slices.Contains(parents[sub], g) {
				parents[sub] = append(parents[sub], g)
			}
		}
	}
	return parents
}

// maxClosure bounds the table of every group's ancestors that a policy
// compiles: beyond it (a hostile or unusually deep nesting), bindings walk
// the nesting instead.
const maxClosure = 1 << 16

// closureOf returns, for each subgroup, every group that contains it,
// directly or not, nearest first; nil when that table would hold more than
// limit names in all.
func closureOf(parents map[string][]string, limit int) map[string][]string {
	if len(parents) == 0 {
		return nil
	}
	out := make(map[string][]string, len(parents))
	total := 0
	for child := range parents {
		var list []string
		var seen set
		queue := slices.Clone(parents[child])
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if !seen.add(p) {
				continue
			}
			if total++; total > limit {
				return nil
			}
			list = append(list, p)
			queue = append(queue, parents[p]...)
		}
		out[child] = list
	}
	return out
}

// eachAncestor calls f once for each group that contains one of groups,
// directly or through other subgroups, and is not itself in groups. The
// walk is breadth-first from each group in turn, so nearer groups come
// first; its cost is the number of such groups, with no table built ahead
// (a long chain of groups costs memory in proportion to its length, not
// its square).
func (st *state) eachAncestor(groups []string, f func(string)) {
	if len(st.parents) == 0 {
		return
	}
	var seen set
	for _, g := range groups {
		seen.add(g)
	}
	var queue []string
	for _, g := range groups {
		queue = append(queue[:0], st.parents[g]...)
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if !seen.add(p) {
				continue
			}
			f(p)
			queue = append(queue, st.parents[p]...)
		}
	}
}

// set is a set of strings: a slice while small, a map once large.
type set struct {
	list []string
	m    map[string]struct{}
}

// add adds s and reports whether it was not in the set.
func (t *set) add(s string) bool {
	if t.m == nil {
		if slices.Contains(t.list, s) {
			return false
		}
		if len(t.list) < 16 {
			t.list = append(t.list, s)
			return true
		}
		t.m = make(map[string]struct{}, 64)
		for _, x := range t.list {
			t.m[x] = struct{}{}
		}
		t.list = nil
	}
	if _, ok := t.m[s]; ok {
		return false
	}
	t.m[s] = struct{}{}
	return true
}

// memberOf reports whether a subject in groups belongs to group, directly
// or through a subgroup.
func (st *state) memberOf(groups []string, group string) bool {
	if slices.Contains(groups, group) {
		return true
	}
	found := false
	st.eachAncestor(groups, func(a string) { found = found || a == group })
	return found
}

// expandGroups returns groups followed by every group that contains one of
// them.
func (st *state) expandGroups(groups []string) []string {
	out := slices.Clone(groups)
	st.eachAncestor(groups, func(a string) { out = append(out, a) })
	return out
}

func cloneGroups(groups map[string][]string) map[string][]string {
	if groups == nil {
		return nil
	}
	out := make(map[string][]string, len(groups))
	for g, subs := range groups {
		out[g] = slices.Clone(subs)
	}
	return out
}

// mergeGroups returns the nesting of a and b together: a group's subgroups
// are those either gives it.
func mergeGroups(a, b map[string][]string) map[string][]string {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := cloneGroups(a)
	for g, subs := range b {
		for _, sub := range subs {
			if !slices.Contains(out[g], sub) {
				out[g] = append(out[g], sub)
			}
		}
		if _, ok := out[g]; !ok {
			out[g] = nil
		}
	}
	return out
}

func joinErrs(errs []*FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// setParents sets the nesting of st and its closure.
func (st *state) setParents(parents map[string][]string) {
	st.parents = parents
	st.closure = closureOf(parents, maxClosure)
}
