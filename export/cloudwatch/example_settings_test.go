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
	"github.com/auditkit/audit/settings"
)

// The export blocks come from the settings document: the exporter follows
// the engine's policy, and a change (Set here; a watched file or
// pgsettings in a service) applies from the next batch.
func ExampleOptions_settingsBlocks() {
	clock := func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }
	srv := cloudwatchtest.NewServer(cloudwatchtest.Options{Now: clock})
	defer srv.Close()

	p, err := settings.Parse([]byte(`{"exports": [
	  {"name": "errors", "levels": ["error"], "log_group": "/app/errors", "format": "text", "params": []}
	]}`))
	if err != nil {
		log.Fatal(err)
	}
	engine, err := settings.New(p, settings.Options{})
	if err != nil {
		log.Fatal(err)
	}
	x, err := cloudwatch.New(cloudwatch.Options{SettingsBlocks: engine.ExportBlocks, Client: srv.Client(), Now: clock})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	send := func(n int, l audit.Level, msg string) {
		id := uuid.MustParse(fmt.Sprintf("01976b2a-0000-7000-8000-%012d", n))
		if err := x.Send(ctx, []audit.Event{{ID: id, Time: clock(), Level: l, Type: audit.TypeLog, Message: msg}}); err != nil {
			log.Fatal(err)
		}
	}
	send(1, audit.LevelError, "disk full")
	send(2, audit.LevelAudit, "not exported yet")

	p.Exports = append(p.Exports, settings.ExportBlock{Name: "audit", Levels: []audit.Level{audit.LevelAudit}, LogGroup: "/app/audit", Format: "text"})
	if err := engine.Set(p); err != nil {
		log.Fatal(err)
	}
	send(3, audit.LevelAudit, "role granted")

	for _, g := range []string{"/app/errors", "/app/audit"} {
		for _, e := range srv.Events(g, "audit") {
			fmt.Printf("%s: %s\n", g, e.Message)
		}
	}
	if err := x.Close(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// /app/errors: [01976b2a-0000-7000-8000-000000000001] time=2025-06-01T12:00:00.000000Z level=error type=log msg="disk full"
	// /app/audit: [01976b2a-0000-7000-8000-000000000003] time=2025-06-01T12:00:00.000000Z level=audit type=log msg="role granted"
}
