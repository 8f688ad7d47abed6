package audit_test

import (
	"context"
	"fmt"
	"os"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/store/memory"
)

// With a spool, each accepted event is on disk before Log returns. Events
// the store did not get before the process stopped are delivered by the
// next Logger on the same directory.
func ExampleSpoolOptions() {
	dir, err := os.MkdirTemp("", "audit-spool")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	store := memory.New(memory.Options{})
	logger, err := audit.New(audit.Options{
		Store: store,
		Spool: &audit.SpoolOptions{Dir: dir}, // group commit every 50ms, 1 GiB at most
	})
	if err != nil {
		panic(err)
	}
	if err := logger.Log("payment approved", map[string]any{"amount": 120}); err != nil {
		// Not durable (spool full or unwritable): refuse the action.
		panic(err)
	}
	if err := logger.Close(context.Background()); err != nil {
		panic(err)
	}
	page, _ := store.Read(context.Background(), audit.Query{})
	fmt.Println(len(page.Events), page.Events[0].Message)
	// Output:
	// 1 payment approved
}
