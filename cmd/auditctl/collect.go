package main

import (
	"context"
	"fmt"
	"time"

	"github.com/auditkit/audit"
	auditjs "github.com/auditkit/audit/export/jetstream"
	"github.com/auditkit/audit/store/sqlite"
)

func runCollect(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("", `Collect the events that services publish to a JetStream stream (package export/jetstream) into the
audit database (--to, or --db): a durable pull consumer, shared by every collector of the same --consumer,
whose messages are acknowledged only once the database stored their events. Runs until SIGINT or SIGTERM
(exit 0), logging progress to stderr every --interval. A Postgres database must be migrated; a SQLite file
is created and migrated when missing.`)
	from := fs.String("from", "", "the NATS `URL` (nats://host:4222; comma-separated for a cluster)")
	stream := fs.String("stream", auditjs.DefaultStream, "the stream's `name`")
	consumer := fs.String("consumer", auditjs.DefaultConsumer, "the durable consumer's `name`: collectors with the same one share the work")
	filter := fs.String("filter", "", "collect only the stream's messages on this `subject` (audit.error.>)")
	to := fs.String("to", "", "the database to write to: a Postgres `DSN` or a SQLite file (default --db)")
	fetch := fs.Int("batch", auditjs.DefaultFetchSize, "the most `events` fetched and written at once")
	interval := fs.Duration("interval", 10*time.Second, "how often progress is logged (0: never)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	if *from == "" {
		return usageErrorf("--from: the NATS URL is required")
	}
	if *fetch <= 0 || *interval < 0 {
		return usageErrorf("--batch must be positive and --interval not negative")
	}
	if *to != "" {
		c.db = *to
	}
	if err := c.needDB(); err != nil {
		return err
	}
	var store interface {
		audit.Store
		Close(context.Context) error
	}
	if isPostgres(c.db) {
		store, err = c.openPostgres(ctx)
	} else {
		store, err = sqlite.Open(ctx, c.db, sqlite.Options{Now: c.now})
	}
	if err != nil {
		return err
	}
	defer store.Close(context.Background())

	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	col, err := auditjs.NewCollector(setup, auditjs.CollectorOptions{
		URL: *from, Stream: *stream, Consumer: *consumer, FilterSubject: *filter, Store: store, FetchSize: *fetch,
		OnError: func(err error) { fmt.Fprintf(c.stderr, "auditctl: collect: %v\n", err) },
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "auditctl: collect: consumer %s of stream %s\n", *consumer, *stream)
	done := make(chan error, 1)
	go func() { done <- col.Run(ctx) }()
	var tick <-chan time.Time
	if *interval > 0 {
		t := time.NewTicker(*interval)
		defer t.Stop()
		tick = t.C
	}
	prev, prevAt := auditjs.CollectorStats{}, time.Now()
	for {
		select {
		case <-tick:
			s := col.Stats()
			rate := float64(s.Written-prev.Written) / time.Since(prevAt).Seconds()
			logProgress(c, "progress", s, rate)
			prev, prevAt = s, time.Now()
		case err := <-done:
			cerr := col.Close(context.Background())
			s := col.Stats()
			logProgress(c, "stopped", s, s.Throughput)
			if err != nil {
				return err
			}
			return cerr
		}
	}
}

func logProgress(c *cli, what string, s auditjs.CollectorStats, rate float64) {
	fmt.Fprintf(c.stderr, "auditctl: collect: %s: written %d (%.0f/s), acked %d, fetched %d, redelivered %d, poison %d, lag %d\n",
		what, s.Written, rate, s.Acked, s.Fetched, s.Redelivered, s.Poison, s.Lag)
}
