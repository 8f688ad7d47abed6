package auditslog_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/auditslog"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/store/memory"
)

type secret string

// LogValue redacts the secret wherever it is logged.
func (secret) LogValue() slog.Value { return slog.StringValue("***") }

func ExampleNewHandler() {
	st := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: st, Sync: true})
	defer logger.Close(context.Background())

	log := slog.New(auditslog.NewHandler(logger, nil))
	ctx := audit.WithSubject(context.Background(), audit.Subject{UserID: "ann"})
	log.InfoContext(ctx, "connection created",
		auditslog.Type(datagrok.ConnectionCreated), auditslog.Level(audit.LevelAudit),
		slog.Group("conn", "host", "db1", "dsn", secret("postgres://ann:hunter2@db1")))
	log.WarnContext(ctx, "slow query", "ms", 1200)

	page, _ := st.Read(context.Background(), audit.Query{})
	for i := len(page.Events) - 1; i >= 0; i-- {
		e := page.Events[i]
		fmt.Printf("%s %q %q user=%s %v\n", e.Level, e.Type, e.Message, e.UserID, e.Params)
	}
	// Output:
	// audit "connection-created" "connection created" user=ann [{conn.dsn ***} {conn.host db1}]
	// warning "" "slow query" user=ann [{ms 1200}]
}
