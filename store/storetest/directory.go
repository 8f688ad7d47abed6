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
// of a group as Datagrok's queries do (a recursive walk of the memberships
// down to users.group_id), from the views of the newest facts. Then it
// changes names and memberships (members leave, and join again) and reads
// the newest facts back, with users and groups keeping their first-seen
// rows: the SQL stores write the directory insert-only.
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
			SELECT g.id FROM {groups_latest} g WHERE g.id = ?
			UNION SELECT r.child_id FROM {groups_relations_latest} r JOIN sub ON r.parent_id = sub.id)
			SELECT u.login FROM {users_latest} u WHERE u.group_id IN (SELECT id FROM sub) ORDER BY u.login`)
		if err := db.SelectContext(ctx, &logins, q, db.UUIDArg(id)); err != nil {
			t.Fatal(err)
		}
		return logins
	}
	members := func(want map[string][]string) {
		t.Helper()
		for group, w := range want {
			if diff := eventsDiff(w, membersOf(group)); diff != "" {
				t.Errorf("users of group %s (-want +got):\n%s", group, diff)
			}
		}
	}
	members(map[string][]string{"all": {"alice", "bob", "carol"}, "lab": {"alice", "bob", "carol"}, "chem": {"alice"}})
	var users []struct {
		Login    string          `db:"login"`
		Name     *string         `db:"friendly_name"`
		Picture  *string         `db:"picture"`
		Joined   driver.ScanTime `db:"joined"`
		Personal bool            `db:"personal"`
	}
	q := db.SQL("SELECT u.login, u.friendly_name, u.picture, u.joined, g.personal FROM {users_latest} u JOIN {groups} g ON g.id = u.group_id ORDER BY u.login")
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

	// Changes: new names and a picture, a group renamed, members leaving
	// (carol, then the lab from all) and alice leaving chem and joining
	// again, and a membership that was a cycle before all lost the lab.
	must("PutUser bob again", s.PutUser(ctx, audit.User{ID: "bob", Login: "bob", FriendlyName: "Bob C.", Picture: "/p/b.png"}))
	must("PutGroup chem again", s.PutGroup(ctx, audit.Group{ID: "chem", Name: "chemistry", FriendlyName: "Chem"}))
	must("SetMembers lab again", s.SetMembers(ctx, "lab", []string{"bob"}, []string{"chem"}))
	must("SetMembers chem empty", s.SetMembers(ctx, "chem", nil, nil))
	members(map[string][]string{"all": {"bob"}, "lab": {"bob"}, "chem": nil})
	must("SetMembers all empty", s.SetMembers(ctx, "all", nil, nil))
	must("SetMembers chem again", s.SetMembers(ctx, "chem", []string{"alice", "alice"}, []string{"all"}))
	members(map[string][]string{"all": nil, "lab": {"alice", "bob"}, "chem": {"alice"}})
	if err := s.SetMembers(ctx, "all", nil, []string{"lab"}); !errors.Is(err, audit.ErrInvalidDirectory) {
		t.Errorf("a cycle through the new memberships: %v, want ErrInvalidDirectory", err)
	}
	members(map[string][]string{"all": nil})

	var bob struct {
		Name    *string `db:"friendly_name"`
		Picture *string `db:"picture"`
		First   *string `db:"first_name"`
	}
	if err := db.GetContext(ctx, &bob, db.SQL("SELECT l.friendly_name, l.picture, u.friendly_name AS first_name FROM {users_latest} l JOIN {users} u ON u.id = l.id WHERE l.login = 'bob'")); err != nil {
		t.Fatal(err)
	}
	if bob.Name == nil || *bob.Name != "Bob C." || bob.Picture == nil || *bob.Picture != "/p/b.png" || bob.First != nil {
		t.Errorf("bob = %+v, want the newest names and picture, and users keeping the first-seen row (no friendly name)", bob)
	}
	var chem struct {
		Name     string  `db:"name"`
		Friendly *string `db:"friendly_name"`
	}
	id, _ := driver.GroupUUID("chem")
	if err := db.GetContext(ctx, &chem, db.SQL("SELECT name, friendly_name FROM {groups_latest} WHERE id = ?"), db.UUIDArg(id)); err != nil {
		t.Fatal(err)
	}
	if chem.Name != "chemistry" || chem.Friendly == nil || *chem.Friendly != "Chem" {
		t.Errorf("group chem = %+v, want the newest names", chem)
	}
}
