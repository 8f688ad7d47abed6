// Command postgres logs a few events of a data service through an
// audit.Logger into the Postgres store, then reads back the Activity of the
// object they name and the same events with a plain SQL query written for
// Datagrok's audit tables.
//
//	go run ./examples/postgres -dsn 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
//	go run ./examples/postgres -sql > audit.sql   # the migrations, to apply by hand with psql
//
// The tables go to the schema given by -schema (default audit_example),
// created on first run.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/store/postgres"
)

func main() {
	dsn := flag.String("dsn", cmp.Or(os.Getenv("DATABASE_URL"), "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"the database's URL (default $DATABASE_URL, else the local server)")
	schema := flag.String("schema", "audit_example", "the schema that holds the tables")
	printSQL := flag.Bool("sql", false, "print the migration script for psql and exit")
	flag.Parse()
	if *printSQL {
		script, err := postgres.MigrationSQL(postgres.Options{Schema: *schema})
		if err != nil {
			fail(err)
		}
		fmt.Print(script)
		return
	}
	if err := run(context.Background(), *dsn, *schema); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "postgres example:", err)
	os.Exit(1)
}

func run(ctx context.Context, dsn, schema string) error {
	// Open migrates: safe when many instances start at once, cheap when up
	// to date.
	store, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
	if err != nil {
		return err
	}
	logger, err := audit.New(audit.Options{
		Store:      store,
		CloseStore: true, // logger.Close closes the store too
		Params:     map[string]any{"service": "reports"},
	})
	if err != nil {
		store.Close(ctx)
		return err
	}

	// One request of a user: a query is created, run, and fails once.
	query := audit.Ref("query", "orders-by-day-"+uuid.NewString()[:8])
	log := logger.WithUser("alice", "analysts").WithSession(uuid.NewString())
	start := time.Now()
	log.Audit("query created", audit.Any("query", query), datagrok.QueryCreated)
	log.Usage("query ran", audit.Any("query", query), audit.Int("rows", 1234), audit.Int64("ms", time.Since(start).Milliseconds()), datagrok.QueryStart)
	log.Error(errors.New("connection reset by peer"), audit.Any("query", query), audit.Int("attempt", 1))

	// Wait until everything logged so far is committed.
	if err := logger.Flush(ctx); err != nil {
		logger.Close(ctx)
		return err
	}
	st := logger.Stats()
	fmt.Printf("logged %d events, wrote %d, dropped %d, failed %d\n\n", st.Logged, st.Written, st.Dropped, st.Failed)

	events, err := store.Activity(ctx, query, time.Time{})
	if err != nil {
		logger.Close(ctx)
		return err
	}
	fmt.Printf("activity of %s over the last 7 days, newest first:\n", query)
	for _, e := range events {
		fmt.Printf("  %s  %-7s %-13s %-5s %q", e.Time.Format(time.TimeOnly), e.Level, e.Type, e.UserID, e.Message)
		for _, p := range e.Params {
			fmt.Printf(" %s=%s", p.Key, p.Value)
		}
		fmt.Println()
	}

	// The tables are Datagrok's: its queries read them as they are.
	rows, err := store.DB().QueryContext(ctx, fmt.Sprintf(`
		SELECT t.source, t.friendly_name, e.description, coalesce(t.error_stack_trace_hash, '')
		FROM %[1]s.events e
		JOIN %[1]s.event_types t ON t.id = e.event_type_id
		JOIN %[1]s.event_parameter_values v ON v.event_id = e.id
		JOIN %[1]s.event_parameters p ON p.id = v.parameter_id
		WHERE p.type = 'entity_id' AND v.value = $1
		ORDER BY e.event_time`, quote(schema)), query.ID)
	if err != nil {
		logger.Close(ctx)
		return err
	}
	defer rows.Close()
	fmt.Println("\nthe same events, by SQL on Datagrok's tables (oldest first):")
	for rows.Next() {
		var source, typ, desc, hash string
		if err := rows.Scan(&source, &typ, &desc, &hash); err != nil {
			return err
		}
		fmt.Printf("  source=%-7s friendly_name=%-13s description=%q error_stack_trace_hash=%s\n", source, typ, desc, hash)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return logger.Close(ctx)
}

func quote(ident string) string {
	out := []byte{'"'}
	for i := 0; i < len(ident); i++ {
		if ident[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, ident[i])
	}
	return string(append(out, '"'))
}
