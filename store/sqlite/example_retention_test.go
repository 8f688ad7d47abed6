package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/store/sqlite"
	"github.com/google/uuid"
)

// ExampleStore_Retain keeps debug events a week and the rest as long as
// Datagrok does, and deletes what is older, after a dry run.
func ExampleStore_Retain() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "audit.db"), sqlite.Options{
		Now:       func() time.Time { return now },
		Retention: audit.Retention{Levels: map[audit.Level]time.Duration{audit.LevelDebug: 7 * audit.Day}},
	})
	if err != nil {
		panic(err)
	}
	defer store.Close(ctx)
	var events []audit.Event
	for _, age := range []int{1, 10, 100, 200, 400} {
		for _, l := range []audit.Level{audit.LevelDebug, audit.LevelAudit} {
			events = append(events, audit.Event{ID: uuid.Must(uuid.NewV7()), Time: now.AddDate(0, 0, -age), Level: l, Type: "job-start"})
		}
	}
	if err := store.Write(ctx, events); err != nil {
		panic(err)
	}

	for _, dry := range []bool{true, false} {
		rep, err := store.Retain(ctx, dry)
		if err != nil {
			panic(err)
		}
		fmt.Printf("dry %v: debug %d, audit %d\n", dry, rep.Count("events", audit.LevelDebug), rep.Count("events", audit.LevelAudit))
	}
	// Output:
	// dry true: debug 4, audit 1
	// dry false: debug 4, audit 1
}
