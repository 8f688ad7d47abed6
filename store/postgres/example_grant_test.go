package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
)

// ExampleStore_Grant sets up an append-only writer: the owner migrates and
// grants, the service connects as the writer role, which records events but
// cannot change them.
func ExampleStore_Grant() {
	dsn, schema, drop := pgtest.ExampleSchema() // a server and a schema for the example
	defer drop()
	ctx := context.Background()

	owner, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema}) // migrates
	if err != nil {
		panic(err)
	}
	defer owner.Close(ctx)
	role := "audit_writer_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	if _, err := owner.DB().ExecContext(ctx, "CREATE ROLE "+role+" NOLOGIN"); err != nil {
		panic(err)
	}
	defer owner.DB().ExecContext(ctx, "DROP OWNED BY "+role+"; DROP ROLE "+role)
	if err := owner.Grant(ctx, role, postgres.AccessWriter); err != nil {
		panic(err)
	}

	// The service's connection runs as the writer (here by the options
	// parameter; in production, a login role of its own).
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	writer, err := postgres.Open(ctx, dsn+sep+"options=-c%20role%3D"+role, postgres.Options{Schema: schema})
	if err != nil {
		panic(err)
	}
	defer writer.Close(ctx)
	id, _ := uuid.NewV7()
	err = writer.Write(ctx, []audit.Event{{
		ID: id, Time: time.Now().UTC(), Level: audit.LevelAudit, Type: datagrok.QueryStart,
		UserID: "alice", SessionID: "s1",
	}})
	fmt.Println("write:", err)
	_, err = writer.DB().ExecContext(ctx, "DELETE FROM "+schema+".events")
	fmt.Println("delete refused:", err != nil && strings.Contains(err.Error(), "permission denied"))
	// Output:
	// write: <nil>
	// delete refused: true
}
