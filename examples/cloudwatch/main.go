// Command cloudwatch logs a few audit events through a Logger whose sink is
// the CloudWatch exporter, with two of Datagrok's export blocks: errors to
// their own stream, everything else to a stream per record type.
//
// Against a local CloudWatch Logs (no account needed), printing what it
// received:
//
//	go run ./examples/cloudwatch -local
//
// Against AWS, with the standard environment (AWS_REGION, AWS_PROFILE or
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, or the instance role); the
// role needs logs:PutLogEvents and logs:CreateLogStream, and
// logs:CreateLogGroup unless the group exists:
//
//	go run ./examples/cloudwatch -group /auditkit/example
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/export/cloudwatch"
	"github.com/auditkit/audit/export/cloudwatch/cloudwatchtest"
)

func main() {
	local := flag.Bool("local", false, "send to a local CloudWatch Logs (cloudwatchtest) instead of AWS")
	group := flag.String("group", "/auditkit/example", "the log group")
	format := flag.String("format", "json", "message format: json or text")
	flag.Parse()
	if err := run(*local, *group, *format); err != nil {
		fmt.Fprintln(os.Stderr, "cloudwatch example:", err)
		os.Exit(1)
	}
}

func run(local bool, group, format string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var cfg aws.Config
	var srv *cloudwatchtest.Server
	if local {
		srv = cloudwatchtest.NewServer(cloudwatchtest.Options{})
		defer srv.Close()
		cfg = srv.Config()
	} else {
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return err
		}
	}
	f := cloudwatch.FormatJSON
	if format == "text" {
		f = cloudwatch.FormatText
	}

	exporter, err := cloudwatch.New(cloudwatch.Options{
		AWS: &cfg,
		Blocks: []cloudwatch.Block{
			{Name: "errors", LogGroup: group, Levels: []audit.Level{audit.LevelError}, DefaultStream: "app_errors", Format: f},
			{Name: "audit", LogGroup: group, Format: f,
				Streams:       map[string]string{audit.TypeLog: "app_log", audit.TypeUsage: "app_usage"},
				DefaultStream: "app_audit"},
		},
		OnError: func(err error) { fmt.Fprintln(os.Stderr, "lost:", err) },
	})
	if err != nil {
		return err
	}
	logger, err := audit.New(audit.Options{
		Sinks:      []audit.Sink{exporter},
		CloseSinks: true,
		Params:     map[string]any{"service": "cloudwatch-example"},
	})
	if err != nil {
		return err
	}

	alice := logger.WithUser("alice").WithSession("s-1")
	alice.Log("signed in", datagrok.UserLoggedIn)
	alice.Audit("query ran", audit.Object("query", "query", "q-42"), audit.Int("rows", 120), audit.Int("ms", 35), datagrok.QueryStart)
	alice.Usage("opened the sales dashboard", audit.Object("project", "project", "sales"))
	alice.Log("exported a table", audit.Int("rows", 120))
	alice.Error(errors.New("connection refused: db-7"), audit.Object("connection", "connection", "db-7"))

	// Close flushes the Logger's queues and then closes the exporter, so
	// every event is delivered before the program exits.
	if err := logger.Close(ctx); err != nil {
		return err
	}
	st := exporter.Stats()
	fmt.Printf("exported %d events in %d requests (%d bytes); lost: %d too old, %d too new, %d poison\n",
		st.Events, st.Requests, st.Bytes, st.TooOld+st.Expired, st.TooNew, st.Poison)

	if srv != nil {
		for _, stream := range srv.Streams(group) {
			for _, e := range srv.Events(group, stream) {
				fmt.Printf("%s/%s %s\n", group, stream, e.Message)
			}
		}
	}
	return nil
}
