package analysis

import (
	"context"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
)

// Scope narrows a question to the events of some users, groups and levels.
// Every request embeds one, so the same filters apply to every question
// (the dashboard keeps them in its URLs). The zero value keeps every event.
// A question counts, groups and ranks only the events in its scope: with
// Levels {error}, Usage counts errors; with Users {alice}, Errors ranks the
// actions of alice's sessions.
type Scope struct {
	// Users keeps the events of these users ("" is events without a
	// user). Default: all.
	Users []string
	// Groups keeps the events of users in any of these groups: those that
	// Options.Groups puts in one, and those the store's directory makes
	// members (audit.Directory.SetMembers, nested groups included). With
	// Users too, an event must pass both. Default: all.
	Groups []string
	// Levels keeps the events of these levels. Default: all.
	Levels []audit.Level
}

// IsZero reports whether s keeps every event.
func (s Scope) IsZero() bool { return len(s.Users)+len(s.Groups)+len(s.Levels) == 0 }

// scope is a Scope with its groups resolved to users.
type scope struct {
	users  []string
	levels []audit.Level
	// nobody is true when the groups (and users) leave no user: no event
	// is in the scope.
	nobody bool
}

func (s scope) isZero() bool { return len(s.users)+len(s.levels) == 0 && !s.nobody }

// apply adds the scope's conditions to f (on the events e).
func (s scope) apply(f *driver.Where) { f.Scope(s.users, s.levels, s.nobody) }

// keptBy reports whether the rollups rs keep what the scope filters on:
// the user (a user_id column) for a user scope, the record type (an
// event_type_id column, whose level the registry holds) for a level scope.
func (s scope) keptBy(rs ...driver.Rollup) bool {
	for _, r := range rs {
		if (len(s.users) > 0 || s.nobody) && !hasCol(r, "user_id") {
			return false
		}
		if len(s.levels) > 0 && !hasCol(r, "event_type_id") {
			return false
		}
	}
	return true
}

func hasCol(r driver.Rollup, col string) bool {
	for _, c := range strings.Split(r.Cols, ",") {
		if strings.TrimSpace(c) == col {
			return true
		}
	}
	return false
}

// onRollup returns the scope's conditions on the rows r of a rollup that
// keeps its dimensions (see keptBy), "" when there is none.
func (s scope) onRollup(d driver.Dialect, r driver.Rollup) (string, []any) {
	f := driver.NewConds(d)
	if s.nobody {
		f.Add("1 = 0")
	}
	if hasCol(r, "user_id") {
		f.UsersOf("r.user_id", s.users)
	}
	if hasCol(r, "event_type_id") {
		f.TypeLevels("r.event_type_id", s.levels)
	}
	if f.Empty() {
		return "", nil
	}
	return f.String(), f.Args()
}

// resolve returns the scope of s over the events that match f (the window
// of the question): its groups resolved to the users of those events who
// are in one of them.
func (a *Analyzer) resolve(ctx context.Context, s Scope, f *driver.Where) (scope, error) {
	sc := scope{users: s.Users, levels: s.Levels}
	if len(s.Groups) == 0 {
		return sc, nil
	}
	members, err := a.groupMembers(ctx, f, s.Groups)
	if err != nil {
		return scope{}, err
	}
	if len(s.Users) > 0 {
		members = slices.DeleteFunc(members, func(u string) bool { return !slices.Contains(s.Users, u) })
	}
	sc.users = members
	sc.nobody = len(members) == 0
	return sc, nil
}

// groupMembers returns the users of the events that match f who are in any
// of groups, sorted: by Options.Groups, or by the store's directory.
func (a *Analyzer) groupMembers(ctx context.Context, f *driver.Where, groups []string) ([]string, error) {
	dir, err := a.directoryMembers(ctx, groups)
	if err != nil {
		return nil, err
	}
	var members []string
	err = a.query(ctx, "users", "SELECT DISTINCT e.user_id, e.user_id_raw FROM {events} e WHERE e.user_id IS NOT NULL AND "+f.String(), f.Args(),
		func(r *sqlx.Rows) error {
			var text string
			var raw []byte
			if err := r.Scan(&text, &raw); err != nil {
				return err
			}
			if u := driver.DecodeText(text, raw); dir[u] || a.inGroups(u, groups) {
				members = append(members, u)
			}
			return nil
		})
	slices.Sort(members)
	return members, err
}

// directoryMembers returns the users (as logged: users.user_key) that the
// store's directory makes members of any of groups (by the group id the
// host gave, groups.group_key), through nested groups too.
func (a *Analyzer) directoryMembers(ctx context.Context, groups []string) (map[string]bool, error) {
	cond, args := driver.MatchText("group_key", groups)
	out := map[string]bool{}
	err := a.query(ctx, "users: directory", `WITH RECURSIVE g (id) AS (
 SELECT id FROM {groups} WHERE `+cond+`
 UNION SELECT r.child_id FROM {groups_relations_latest} r JOIN g ON r.parent_id = g.id)
SELECT u.user_key, u.user_key_raw FROM {users} u WHERE u.group_id IN (SELECT id FROM g)`, args, func(r *sqlx.Rows) error {
		var text string
		var raw []byte
		if err := r.Scan(&text, &raw); err != nil {
			return err
		}
		out[driver.DecodeText(text, raw)] = true
		return nil
	})
	return out, err
}

// inGroups reports whether Options.Groups puts user in one of groups.
func (a *Analyzer) inGroups(user string, groups []string) bool {
	for _, g := range a.opts.Groups(user) {
		if slices.Contains(groups, g) {
			return true
		}
	}
	return false
}
