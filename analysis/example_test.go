package analysis_test

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
)

// Example asks a Postgres store's log three questions: the overview of the
// week, the errors and what leads to them, and the history of a table.
func Example() {
	dsn, schema, drop := pgtest.ExampleSchema() // a server and a schema for the example
	defer drop()

	ctx := context.Background()
	store, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema}) // connects and migrates
	if err != nil {
		panic(err)
	}
	defer store.Close(ctx)

	// A small log, written straight to the store (services log through an
	// audit.Logger instead).
	now := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	log := func(ago time.Duration, user string, level audit.Level, typ, msg string, params ...audit.Param) audit.Event {
		e := audit.Event{ID: uuid.Must(uuid.NewV7()), Time: now.Add(-ago), Level: level, Type: typ, Message: msg,
			UserID: user, SessionID: user + "-session", Params: params}
		if level == audit.LevelError {
			e.Fingerprint, e.StackTrace = "f1e2d3", "main.load()\n\tload.go:12"
		}
		return e
	}
	h := time.Hour
	err = store.Write(ctx, []audit.Event{
		log(50*h, "alice", audit.LevelAudit, datagrok.QueryStart, "query", audit.P("query", audit.Ref("query", "sales"))),
		log(49*h, "alice", audit.LevelAudit, datagrok.TableProduced, "table",
			audit.P("table", audit.Ref("table", "sales-2025")), audit.P("source", audit.Ref("query", "sales"))),
		log(48*h, "alice", audit.LevelAudit, datagrok.QueryStart, "query", audit.P("query", audit.Ref("query", "sales"))),
		log(47*h, "alice", audit.LevelError, audit.TypeError, "connection refused"),
		log(30*h, "bob", audit.LevelUsage, datagrok.ViewerRendered, "viewer", audit.P("table", audit.Ref("table", "sales-2025"))),
		log(29*h, "bob", audit.LevelAudit, datagrok.EntityShared, "shared", audit.P("entity", audit.Ref("table", "sales-2025"))),
		log(28*h, "bob", audit.LevelAudit, datagrok.QueryStart, "query", audit.P("query", audit.Ref("query", "sales"))),
		log(27*h, "bob", audit.LevelError, audit.TypeError, "connection refused"),
	})
	if err != nil {
		panic(err)
	}

	a, err := analysis.New(store, analysis.Options{Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	ov, err := a.Overview(ctx, analysis.OverviewRequest{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("active users %d, events %d, errors %d\n", ov.ActiveUsers.Current, ov.Events.Current, ov.Errors.Current)

	errs, err := a.Errors(ctx, analysis.ErrorsRequest{Horizon: 1, MinSupport: 1})
	if err != nil {
		panic(err)
	}
	for _, g := range errs.Groups {
		fmt.Printf("error %s: %d times, %d users: %s\n", g.Fingerprint, g.Count, g.Users, g.Sample.Message)
	}
	for _, act := range errs.Actions {
		fmt.Printf("leads to errors: %s (%d of %d, lift %.1f)\n", act.Type, act.Followed, act.Count, act.Lift)
	}

	hist, err := a.History(ctx, analysis.HistoryRequest{Object: audit.Ref("table", "sales-2025")})
	if err != nil {
		panic(err)
	}
	fmt.Printf("sales-2025 came from %v by %s; then %d modification(s)\n",
		hist.Origin.Sources, hist.Origin.Event.UserID, len(hist.Modifications))
	// Output:
	// active users 2, events 8, errors 2
	// error f1e2d3: 2 times, 2 users: connection refused
	// leads to errors: query-start (2 of 3, lift 2.0)
	// sales-2025 came from [query:sales] by alice; then 1 modification(s)
}
