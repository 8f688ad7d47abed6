package jetstream_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"
	"time"

	"github.com/auditkit/audit"
	auditjs "github.com/auditkit/audit/export/jetstream"
	"github.com/auditkit/audit/store/postgres"
)

// A service logs through JetStream: the Logger hands its events to the
// sink, which returns once the stream acknowledged them.
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sink, err := auditjs.New(ctx, auditjs.Options{
		URL:    "nats://127.0.0.1:4222",
		Stream: auditjs.Stream{Create: true, Replicas: 1, MaxAge: 7 * 24 * time.Hour},
	})
	if err != nil {
		log.Fatal(err)
	}
	logger, err := audit.New(audit.Options{Sinks: []audit.Sink{sink}, CloseSinks: true})
	if err != nil {
		log.Fatal(err)
	}
	logger.Audit("report exported", "report", audit.Ref("report", "r-7"))
	if err := logger.Close(ctx); err != nil { // delivers what is queued, closes the sink
		log.Fatal(err)
	}
}

// A collector writes the stream's events to Postgres until SIGTERM; run
// several with the same Consumer to share the work.
func ExampleCollector() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	store, err := postgres.Open(ctx, "postgres://audit@db/audit", postgres.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close(context.Background())
	c, err := auditjs.NewCollector(ctx, auditjs.CollectorOptions{
		URL:      "nats://127.0.0.1:4222",
		Stream:   auditjs.DefaultStream,
		Consumer: "audit-collector",
		Store:    store,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Run(ctx); err != nil {
		log.Fatal(err)
	}
	c.Close(context.Background())
	s := c.Stats()
	log.Printf("written %d, poison %d, lag %d", s.Written, s.Poison, s.Lag)
}
