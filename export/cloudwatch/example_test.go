package cloudwatch_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/cloudwatch"
	"github.com/auditkit/audit/export/cloudwatch/cloudwatchtest"
)

// Two export blocks, errors first, sent to a local CloudWatch Logs. Against
// AWS, set Options.AWS to the aws.Config of config.LoadDefaultConfig instead
// of Client.
func Example() {
	clock := func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }
	srv := cloudwatchtest.NewServer(cloudwatchtest.Options{Now: clock})
	defer srv.Close()

	x, err := cloudwatch.New(cloudwatch.Options{
		Blocks: []cloudwatch.Block{
			{LogGroup: "/app/errors", Levels: []audit.Level{audit.LevelError}, DefaultStream: "app_errors", Format: cloudwatch.FormatText},
			{LogGroup: "/app/audit", Streams: map[string]string{audit.TypeLog: "app_log"}, Params: cloudwatch.OnlyParams("query"), Format: cloudwatch.FormatText},
		},
		Client: srv.Client(),
		Now:    clock,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	err = x.Send(ctx, []audit.Event{
		{ID: uuid.MustParse("01976b2a-0000-7000-8000-000000000001"), Time: clock(), Level: audit.LevelAudit, Type: audit.TypeLog,
			Message: "query ran", UserID: "alice", Params: []audit.Param{audit.P("query", audit.Ref("query", "q-1")), audit.P("rows", 3)}},
		{ID: uuid.MustParse("01976b2a-0000-7000-8000-000000000002"), Time: clock(), Level: audit.LevelError, Type: audit.TypeError,
			Message: "connection refused", UserID: "bob"},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := x.Close(ctx); err != nil {
		log.Fatal(err)
	}
	for _, gs := range [][2]string{{"/app/audit", "app_log"}, {"/app/errors", "app_errors"}} {
		for _, e := range srv.Events(gs[0], gs[1]) {
			fmt.Printf("%s/%s: %s\n", gs[0], gs[1], e.Message)
		}
	}
	fmt.Printf("%+v\n", x.Stats().Events)
	// Output:
	// /app/audit/app_log: [01976b2a-0000-7000-8000-000000000001] time=2025-06-01T12:00:00.000000Z level=audit type=log user_id=alice msg="query ran" query=query:q-1
	// /app/errors/app_errors: [01976b2a-0000-7000-8000-000000000002] time=2025-06-01T12:00:00.000000Z level=error type=error user_id=bob msg="connection refused"
	// 2
}
