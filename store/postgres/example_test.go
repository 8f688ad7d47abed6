package postgres_test

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
)

// Example writes an event straight to the store and reads the Activity of
// the object it names. Services log through an audit.Logger instead, which
// batches events into Write.
func Example() {
	dsn, schema, drop := pgtest.ExampleSchema() // a server and a schema for the example
	defer drop()

	ctx := context.Background()
	store, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema}) // connects and migrates
	if err != nil {
		panic(err)
	}
	defer store.Close(ctx)

	id, _ := uuid.NewV7()
	err = store.Write(ctx, []audit.Event{{
		ID:      id,
		Time:    time.Now().UTC().Truncate(time.Microsecond),
		Level:   audit.LevelAudit,
		Type:    datagrok.QueryStart,
		Message: "query started",
		UserID:  "alice",
		Params: []audit.Param{
			audit.P("query", audit.Ref("query", "orders-by-day")),
			audit.P("rows", 1234),
		},
	}})
	if err != nil {
		panic(err)
	}

	events, err := store.Activity(ctx, audit.Ref("query", "orders-by-day"), time.Time{})
	if err != nil {
		panic(err)
	}
	for _, e := range events {
		fmt.Println(e.Type, e.UserID, e.Message)
		for _, p := range e.Params {
			fmt.Printf("  %s = %s (%s)\n", p.Key, p.Value, p.Value.Kind())
		}
	}
	// Output:
	// query-start alice query started
	//   query = orders-by-day (entity_id)
	//   rows = 1234 (int64)
}

// ExampleNewPool runs the store on a pgx v5 pool, the service's own: the
// store writes batches with pgx's CopyFrom. NewPool never migrates, and
// closing the store leaves the pool open.
func ExampleNewPool() {
	dsn, schema, drop := pgtest.ExampleSchema()
	defer drop()

	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	store, err := postgres.NewPool(pool, postgres.Options{Schema: schema})
	if err != nil {
		panic(err)
	}
	defer store.Close(ctx)
	if err := store.Migrate(ctx); err != nil {
		panic(err)
	}

	logger, err := audit.New(audit.Options{Store: store})
	if err != nil {
		panic(err)
	}
	logger.WithUser("alice").Audit("query started", map[string]any{"query": audit.Ref("query", "q1")}, datagrok.QueryStart)
	if err := logger.Close(ctx); err != nil {
		panic(err)
	}
	events, err := store.Activity(ctx, audit.Ref("query", "q1"), time.Time{})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(events), events[0].UserID, events[0].Message)
	// Output:
	// 1 alice query started
}
