package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
)

// testDirectory records users, groups and nested membership through
// audit.Directory, checks what is refused (empty ids, members never
// recorded, cycles) changes nothing, and, on the SQL stores, reads the users
// of a group as Datagrok's queries do: a recursive walk of groups_relations
// down to users.group_id.
func testDirectory(t *testing.T, s Store) {
	ctx := t.Context()
	carol := at(0, "log")
	carol.UserID = "carol" // seen in an event only
	write(t, s, carol)
	joined := base().Add(-time.Hour)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("PutUser alice", s.PutUser(ctx, audit.User{ID: "alice", Login: "alice", FriendlyName: "Alice A.", Picture: "/p/a.png", Joined: joined}))
	must("PutUser alice again", s.PutUser(ctx, audit.User{ID: "alice", Login: "alice", FriendlyName: "Alice B."}))
	must("PutUser bob", s.PutUser(ctx, audit.User{ID: "bob", Login: "bob"}))
	for _, g := range []audit.Group{{ID: "chem", Name: "chemists"}, {ID: "lab", Name: "lab"}, {ID: "all", Name: "all", FriendlyName: "Everyone"}} {
		must("PutGroup "+g.ID, s.PutGroup(ctx, g))
	}
	must("SetMembers chem", s.SetMembers(ctx, "chem", []string{"alice"}, nil))
	must("SetMembers lab", s.SetMembers(ctx, "lab", []string{"bob", "carol"}, []string{"chem"}))
	must("SetMembers all", s.SetMembers(ctx, "all", nil, []string{"lab"}))

	refused := []struct {
		name string
		err  error
	}{
		{"user without id", s.PutUser(ctx, audit.User{Login: "x"})},
		{"group without id", s.PutGroup(ctx, audit.Group{Name: "x"})},
		{"cycle through subgroups", s.SetMembers(ctx, "chem", []string{"alice"}, []string{"all"})},
		{"group its own member", s.SetMembers(ctx, "all", nil, []string{"all"})},
		{"unknown user", s.SetMembers(ctx, "chem", []string{"dave"}, nil)},
		{"unknown member group", s.SetMembers(ctx, "chem", nil, []string{"nope"})},
		{"unknown group", s.SetMembers(ctx, "nope", []string{"alice"}, nil)},
	}
	for _, r := range refused {
		if !errors.Is(r.err, audit.ErrInvalidDirectory) {
			t.Errorf("%s: error %v, want one wrapping ErrInvalidDirectory", r.name, r.err)
		}
	}

	db, err := driver.Find(s)
	if err != nil {
		return // not a SQL store: no tables to read
	}
	membersOf := func(group string) []string {
		t.Helper()
		id, _ := driver.GroupUUID(group)
		var logins []string
		q := db.SQL(`WITH RECURSIVE sub (id) AS (
			SELECT g.id FROM {groups} g WHERE g.id = ?
			UNION SELECT r.child_id FROM {groups_relations} r JOIN sub ON r.parent_id = sub.id)
			SELECT u.login FROM {users} u WHERE u.group_id IN (SELECT id FROM sub) ORDER BY u.login`)
		if err := db.SelectContext(ctx, &logins, q, db.UUIDArg(id)); err != nil {
			t.Fatal(err)
		}
		return logins
	}
	for group, want := range map[string][]string{"all": {"alice", "bob", "carol"}, "lab": {"alice", "bob", "carol"}, "chem": {"alice"}} {
		if diff := eventsDiff(want, membersOf(group)); diff != "" {
			t.Errorf("users of group %s (-want +got):\n%s", group, diff)
		}
	}
	var users []struct {
		Login    string          `db:"login"`
		Name     *string         `db:"friendly_name"`
		Picture  *string         `db:"picture"`
		Joined   driver.ScanTime `db:"joined"`
		Personal bool            `db:"personal"`
	}
	q := db.SQL("SELECT u.login, u.friendly_name, u.picture, u.joined, g.personal FROM {users} u JOIN {groups} g ON g.id = u.group_id ORDER BY u.login")
	if err := db.SelectContext(ctx, &users, q); err != nil {
		t.Fatal(err)
	}
	logins := make([]string, len(users))
	for i, u := range users {
		logins[i] = u.Login
		if !u.Personal {
			t.Errorf("user %s: group_id is not a personal group", u.Login)
		}
	}
	if !slices.Equal(logins, []string{"alice", "bob", "carol"}) {
		t.Fatalf("users = %v, want alice, bob, carol", logins)
	}
	a := users[0]
	if a.Name == nil || *a.Name != "Alice B." || a.Picture != nil || !a.Joined.Equal(joined) {
		t.Errorf("alice = %+v, want the second PutUser's names (no picture) and the first's joined %s", a, joined)
	}
	if c := users[2]; !c.Joined.Equal(carol.Time) {
		t.Errorf("carol joined %s, want her first event's time %s", c.Joined.Time, carol.Time)
	}
}
