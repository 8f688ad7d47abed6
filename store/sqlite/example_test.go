package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/store/sqlite"
)

// Example logs through an audit.Logger into a SQLite file and reads the
// Activity of the object the events name.
func Example() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "audit.db"), sqlite.Options{})
	if err != nil {
		panic(err)
	}
	logger, err := audit.New(audit.Options{Store: store, CloseStore: true})
	if err != nil {
		panic(err)
	}
	alice := logger.WithUser("alice")
	alice.Log("query started", map[string]any{"query": audit.Ref("query", "orders-by-day"), "rows": 1234}, datagrok.QueryStart)
	alice.LogEvent(ctx, audit.Event{
		Level: audit.LevelUsage, Type: audit.TypeFunctionCall, Message: "called Forecast", Duration: 1500 * time.Millisecond,
		Params: []audit.Param{audit.P("input", audit.Ref("query", "orders-by-day"))},
	})
	if err := logger.Flush(ctx); err != nil { // every event is committed once Flush returns
		panic(err)
	}

	events, err := store.Activity(ctx, audit.Ref("query", "orders-by-day"), time.Time{})
	if err != nil {
		panic(err)
	}
	for _, e := range events {
		fmt.Println(e.Type, e.UserID, e.Message, e.Duration)
		for _, p := range e.Params {
			fmt.Printf("  %s = %s (%s)\n", p.Key, p.Value, p.Value.Kind())
		}
	}
	if err := logger.Close(ctx); err != nil { // closes the store too (CloseStore)
		panic(err)
	}
	// Output:
	// function-call alice called Forecast 1.5s
	//   input = orders-by-day (entity_id)
	// query-start alice query started 0s
	//   query = orders-by-day (entity_id)
	//   rows = 1234 (int64)
}

// ExampleStore_SetMembers records users and nested groups through
// audit.Directory, then lists the users of a group and its subgroups with the
// recursive walk of groups_relations that Datagrok's queries use.
func ExampleStore_SetMembers() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "audit.db"), sqlite.Options{})
	if err != nil {
		panic(err)
	}
	defer store.Close(ctx)
	var d audit.Directory = store
	for _, u := range []audit.User{{ID: "u1", Login: "alice", FriendlyName: "Alice"}, {ID: "u2", Login: "bob", FriendlyName: "Bob"}} {
		if err := d.PutUser(ctx, u); err != nil {
			panic(err)
		}
	}
	for _, g := range []audit.Group{{ID: "chem", Name: "Chemists"}, {ID: "lab", Name: "Lab"}} {
		if err := d.PutGroup(ctx, g); err != nil {
			panic(err)
		}
	}
	if err := d.SetMembers(ctx, "chem", []string{"u1"}, nil); err != nil {
		panic(err)
	}
	if err := d.SetMembers(ctx, "lab", []string{"u2"}, []string{"chem"}); err != nil {
		panic(err)
	}
	err = d.SetMembers(ctx, "chem", nil, []string{"lab"}) // chem is in lab already: a cycle
	fmt.Println(errors.Is(err, audit.ErrInvalidDirectory))

	var names []string
	if err := store.DB().SelectContext(ctx, &names, `WITH RECURSIVE selected (id) AS (
		SELECT id FROM groups WHERE name = ?
		UNION SELECT r.child_id FROM groups_relations r JOIN selected s ON r.parent_id = s.id)
	SELECT u.friendly_name FROM users u WHERE u.group_id IN (SELECT id FROM selected) ORDER BY 1`, "Lab"); err != nil {
		panic(err)
	}
	fmt.Println(names)
	// Output:
	// true
	// [Alice Bob]
}
