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
	// Depth-first search; a group met again while on the path closes a cycle.
	const (
		unseen = iota
		onPath
		done
	)
	color := map[string]int{}
	var path []string
	var visit func(g string) []string
	visit = func(g string) []string {
		color[g] = onPath
		path = append(path, g)
		for _, sub := range groups[g] {
			switch color[sub] {
			case onPath:
				start := slices.Index(path, sub)
				return append(slices.Clone(path[start:]), sub)
			case unseen:
				if c := visit(sub); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		color[g] = done
		return nil
	}
	for _, g := range names {
		if color[g] != unseen {
			continue
		}
		path = path[:0]
		if c := visit(g); c != nil {
			quoted := make([]string, len(c))
			for i, n := range c {
				quoted[i] = fmt.Sprintf("%q", n)
			}
			errs = append(errs, fieldErr(fmt.Sprintf("groups[%q]", c[0]), "cycle: %s: a group may not contain itself, directly or through subgroups", strings.Join(quoted, " -> ")))
			return errs
		}
	}
	return nil
}

// ancestorsOf returns, for each group that is a subgroup, every group that
// contains it, directly or through other subgroups, in name order. groups
// must have no cycle.
func ancestorsOf(groups map[string][]string) map[string][]string {
	if len(groups) == 0 {
		return nil
	}
	parents := map[string][]string{}
	for g, subs := range groups {
		for _, sub := range subs {
			parents[sub] = append(parents[sub], g)
		}
	}
	out := make(map[string][]string, len(parents))
	for child := range parents {
		seen := map[string]bool{}
		stack := slices.Clone(parents[child])
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[p] {
				continue
			}
			seen[p] = true
			stack = append(stack, parents[p]...)
		}
		out[child] = slices.Sorted(maps.Keys(seen))
	}
	return out
}

// memberOf reports whether a subject in groups belongs to group, directly
// or through a subgroup.
func (st *state) memberOf(groups []string, group string) bool {
	for _, g := range groups {
		if g == group || slices.Contains(st.ancestors[g], group) {
			return true
		}
	}
	return false
}

// expandGroups returns groups followed by every group that contains one of
// them, without repeats.
func (st *state) expandGroups(groups []string) []string {
	if len(st.ancestors) == 0 {
		return groups
	}
	out := slices.Clone(groups)
	for _, g := range groups {
		for _, a := range st.ancestors[g] {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
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
