package postgres_test

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
)

// ExampleStore_StartRollups keeps the rollups of a store current while the
// service runs, and asks a window question that reads them.
func ExampleStore_StartRollups() {
	dsn, schema, drop := pgtest.ExampleSchema() // a server and a schema for the example
	defer drop()

	ctx := context.Background()
	store, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
	if err != nil {
		panic(err)
	}
	defer store.Close(ctx)

	// Yesterday's events, which the runner's first run rolls up.
	yesterday := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Microsecond)
	var events []audit.Event
	for i := range 3 {
		events = append(events, audit.Event{ID: uuid.Must(uuid.NewV7()), Time: yesterday.Add(time.Duration(i) * time.Minute),
			Level: audit.LevelUsage, Type: "report-opened", UserID: "alice"})
	}
	if err := store.Write(ctx, events); err != nil {
		panic(err)
	}

	runner, err := store.StartRollups(postgres.RollupOptions{})
	if err != nil {
		panic(err)
	}
	defer runner.Close(ctx)
	// The answers do not wait for the runner: what the rollups do not
	// cover yet is read from the events.
	a, err := analysis.New(store, analysis.Options{})
	if err != nil {
		panic(err)
	}
	usage, err := a.Usage(ctx, analysis.UsageRequest{})
	if err != nil {
		panic(err)
	}
	fmt.Println(usage.Total, usage.ByType[0].Key, usage.ByUser[0].Key)
	// Output:
	// 3 report-opened alice
}
