package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/auditkit/audit"
	auditjs "github.com/auditkit/audit/export/jetstream"
	"github.com/auditkit/audit/export/sinktest"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/internal/natstest"
	"github.com/auditkit/audit/store/memory"
)

func TestToken(t *testing.T) {
	for in, want := range map[string]string{
		"log": "log", "": "_", "a b": "a_b", "a.b": "a_b", "x*": "x_", "x>": "x_", "tab\there": "tab_here", "bad\xff": "bad_",
	} {
		if got := auditjs.Token(in); got != want {
			t.Errorf("Token(%q) = %q, want %q", in, got, want)
		}
	}
	e := audit.Event{Level: audit.LevelAudit, Type: "data.query run"}
	if got := auditjs.Subject("audit", &e); got != "audit.audit.data_query_run" {
		t.Errorf("Subject = %q", got)
	}
}

// TestResendOnce sends a batch twice, as the Logger does after an error:
// the stream's duplicate window keeps each event once.
func TestResendOnce(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := auditjs.New(ctx, auditjs.Options{URL: srv.URL(), Stream: auditjs.Stream{Create: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	batch := sinktest.Events(20)
	for range 2 {
		if err := s.Send(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got := streamIDs(t, srv.URL(), auditjs.DefaultStream)
	if len(got) != len(batch) {
		t.Errorf("the stream holds %d messages after sending %d events twice", len(got), len(batch))
	}
	if st := s.Stats(); st.Published != 40 || st.Lost != 0 {
		t.Errorf("Stats = %+v, want 40 published", st)
	}
}

// TestResendProbes stalls the server while a batch waits for its
// acknowledgements: the sink sends one event alone each AckTimeout until
// the server answers, then the rest, rather than the whole batch each
// time, which would add to the load of a busy stream.
func TestResendProbes(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := auditjs.New(ctx, auditjs.Options{URL: srv.URL(), Stream: auditjs.Stream{Create: true}, AckTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	batch := sinktest.Events(100)
	srv.Pause()
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, batch) }()
	time.Sleep(1500 * time.Millisecond) // about 6 AckTimeouts
	srv.Resume()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := streamIDs(t, srv.URL(), auditjs.DefaultStream); len(got) != len(batch) {
		t.Errorf("the stream holds %d messages, want %d", len(got), len(batch))
	}
	st := s.Stats()
	t.Logf("Stats = %+v", st)
	if st.Published != int64(len(batch)) || st.Retried < 1 || st.Retried >= 2*int64(len(batch)) {
		t.Errorf("Stats = %+v: want %d published, and fewer than %d resent", st, len(batch), 2*len(batch))
	}
}

func TestStreamChecked(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := auditjs.New(ctx, auditjs.Options{URL: srv.URL()})
	if !errors.Is(err, audit.ErrInvalidOptions) {
		t.Errorf("New without the stream = %v, want ErrInvalidOptions", err)
	}
	_, err = auditjs.NewCollector(ctx, auditjs.CollectorOptions{URL: srv.URL(), Store: memory.New(memory.Options{})})
	if !errors.Is(err, audit.ErrInvalidOptions) {
		t.Errorf("NewCollector without the stream = %v, want ErrInvalidOptions", err)
	}
	for _, opts := range []auditjs.Options{{URL: srv.URL(), Prefix: "a b"}, {URL: srv.URL(), MaxPending: -1}, {}} {
		if _, err := auditjs.New(ctx, opts); !errors.Is(err, audit.ErrInvalidOptions) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOptions", opts, err)
		}
	}
}

// refusing is a store that refuses events whose message is "refuse".
type refusing struct{ audit.Store }

func (r refusing) Write(ctx context.Context, events []audit.Event) error {
	if slices.ContainsFunc(events, func(e audit.Event) bool { return e.Message == "refuse" }) {
		return fmt.Errorf("%w: refused", audit.ErrInvalidEvent)
	}
	return r.Store.Write(ctx, events)
}

// TestRefusedByStore: an event the store refuses for good is terminated
// and reported, and the others of its batch are written.
func TestRefusedByStore(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := auditjs.New(ctx, auditjs.Options{URL: srv.URL(), Stream: auditjs.Stream{Create: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	batch := sinktest.Events(10)
	batch[3].Message = "refuse"
	if err := s.Send(ctx, batch); err != nil {
		t.Fatal(err)
	}
	mem := memory.New(memory.Options{})
	errs := &audittest.ErrorLog{}
	c, err := auditjs.NewCollector(ctx, auditjs.CollectorOptions{URL: srv.URL(), Store: refusing{mem}, OnError: errs.Add})
	if err != nil {
		t.Fatal(err)
	}
	run, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(run) }()
	audittest.Eventually(t, "9 events written and 1 terminated", func() bool {
		st := c.Stats()
		return st.Written == 9 && st.Poison == 1 && st.Acked == 9
	})
	stop()
	if err := errors.Join(<-done, c.Close(ctx)); err != nil {
		t.Fatal(err)
	}
	if n := len(audittest.Stored(t, mem)); n != 9 {
		t.Errorf("the store holds %d events, want 9", n)
	}
	var pe *auditjs.PoisonError
	if !slices.ContainsFunc(errs.Errors(), func(err error) bool { return errors.As(err, &pe) }) || !errors.Is(pe, audit.ErrInvalidEvent) {
		t.Errorf("the refused event was not reported: %v", errs.Errors())
	}
}
