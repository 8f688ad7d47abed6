package datagrok_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/store/memory"
)

// A service that mirrors Datagrok's events logs them with Datagrok's record
// types, so that queries written for Datagrok's audit find them.
func Example() {
	ctx := context.Background()
	store := memory.New(memory.Options{})
	l, err := audit.New(audit.Options{Store: store, Sync: true})
	if err != nil {
		panic(err)
	}
	defer l.Close(ctx)

	l.WithUser("alice").Log("project opened", audit.Object("project", "project", "p-7"), datagrok.ProjectOpened)

	page, err := store.Read(ctx, audit.Query{Types: []string{datagrok.ProjectOpened}})
	if err != nil {
		panic(err)
	}
	for _, e := range page.Events {
		fmt.Println(e.Level, e.Type, e.UserID, e.Message)
	}
	fmt.Println(slices.Contains(datagrok.RecordTypes(), datagrok.ProjectOpened))
	// Output:
	// audit project-opened alice project opened
	// true
}
