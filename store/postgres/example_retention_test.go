package postgres_test

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
)

// ExampleStore_Retain writes a year and a half of monthly events and
// applies Datagrok's retention: the months older than every level's period
// go as whole partitions, the rest statement by statement.
func ExampleStore_Retain() {
	dsn, schema, drop := pgtest.ExampleSchema() // a server and a schema for the example
	defer drop()
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	store, err := postgres.Open(ctx, dsn, postgres.Options{
		Schema: schema,
		Now:    func() time.Time { return now },
		Retention: audit.Retention{BeforeExpire: func(_ context.Context, cutoffs map[audit.Level]time.Time) error {
			fmt.Println("audit events before", cutoffs[audit.LevelAudit].Format(time.DateOnly), "expire")
			return nil
		}},
	})
	if err != nil {
		panic(err)
	}
	defer store.Close(ctx)
	var events []audit.Event
	for m := range 18 {
		events = append(events, audit.Event{ID: uuid.Must(uuid.NewV7()), Time: now.AddDate(0, -m, 0), Level: audit.LevelAudit, Type: "job-start"})
	}
	if err := store.Write(ctx, events); err != nil {
		panic(err)
	}

	rep, err := store.Retain(ctx, false)
	if err != nil {
		panic(err)
	}
	fmt.Println("audit events removed:", rep.Count("events", audit.LevelAudit))
	fmt.Println("partitions dropped:", len(rep.DroppedPartitions)/2, "months of each table")
	// Output:
	// audit events before 2025-06-15 expire
	// audit events removed: 5
	// partitions dropped: 5 months of each table
}
