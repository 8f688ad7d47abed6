package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	auditjs "github.com/auditkit/audit/export/jetstream"
	"github.com/auditkit/audit/export/sinktest"
	"github.com/auditkit/audit/internal/natstest"
	"github.com/auditkit/audit/internal/pgtest"
)

// TestCollect publishes events to a JetStream server, collects them into
// Postgres with 'auditctl collect', and stops it as SIGINT would.
func TestCollect(t *testing.T) {
	srv := natstest.Start(t)
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	store := openPG(t, dsn, schema) // migrates
	defer store.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sink, err := auditjs.New(ctx, auditjs.Options{URL: srv.URL(), Stream: auditjs.Stream{Create: true}})
	if err != nil {
		t.Fatal(err)
	}
	events := sinktest.Events(50)
	if err := sink.Send(ctx, events); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}

	run, stop := context.WithCancel(ctx)
	done := make(chan result, 1)
	go func() {
		done <- auditctlIn(t, run, nil, "", "collect", "--from", srv.URL(), "--to", dsn, "--schema", schema,
			"--consumer", "cli", "--interval", "20ms")
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		page, err := store.Read(ctx, audit.Query{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == len(events) {
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("%d of %d events collected; stderr:\n%s", len(page.Events), len(events), (<-done).stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop() // as SIGINT does
	r := <-done
	if r.code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"consumer cli of stream AUDIT", "progress: written", "stopped: written 50 ", "acked 50,"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestCollectUsage(t *testing.T) {
	for _, args := range [][]string{
		{"collect", "--to", "x.db"},
		{"collect", "--from", "nats://127.0.0.1:1"},
		{"collect", "--from", "nats://127.0.0.1:1", "--to", "x.db", "--batch", "0"},
		{"collect", "--from", "nats://127.0.0.1:1", "--to", "x.db", "extra"},
	} {
		if r := auditctl(t, nil, args...); r.code != exitUsage {
			t.Errorf("%q: exit %d, want %d; stderr %s", args, r.code, exitUsage, r.stderr)
		}
	}
	r := auditctl(t, nil, "collect", "--from", "nats://bob:s3cret@127.0.0.1:1", "--to", t.TempDir()+"/a.db")
	if r.code != exitFailure || strings.Contains(r.stderr, "s3cret") || !strings.Contains(r.stderr, "connect to nats://bob:xxxxx@127.0.0.1:1") {
		t.Errorf("collect from nowhere: exit %d, stderr %q", r.code, r.stderr)
	}
}
