package postgres_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/store/postgres"
)

// blackHole is a server that accepts TCP connections and never answers.
type blackHole struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

func newBlackHole(t *testing.T) *blackHole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &blackHole{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
		}
	}()
	t.Cleanup(h.close)
	return h
}

// dsn has no connect_timeout.
func (h *blackHole) dsn() string {
	return "postgres://audit@" + h.ln.Addr().String() + "/audit?sslmode=disable"
}

// close stops accepting and hangs up on every connection.
func (h *blackHole) close() {
	h.ln.Close()
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		c.Close()
	}
	h.conns = nil
}

// within runs fn and fails the test if it has not returned after a
// generous bound: it detects hangs, it does not time fn.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return: it hangs", what)
	}
}

// TestOpenBlackHole opens a store on a server that accepts TCP and never
// answers, with no connect_timeout in the DSN: Open ends with the context's
// deadline instead of waiting forever in the startup handshake.
func TestOpenBlackHole(t *testing.T) {
	h := newBlackHole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	within(t, "Open", func() {
		s, err := postgres.Open(ctx, h.dsn(), postgres.Options{})
		if err == nil {
			s.Close(ctx)
			t.Error("Open succeeded against a server that never answers")
		}
	})
}

// TestCloseBlackHole logs events into a store whose server accepts TCP and
// never answers, through a pool made without any connect timeout (so the
// write itself never returns): Logger.Close still returns with its
// context's error, and reports the events it could not deliver.
func TestCloseBlackHole(t *testing.T) {
	h := newBlackHole(t)
	db, err := sqlx.Open("postgres", h.dsn())
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.New(db, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reported []error
	l, err := audit.New(audit.Options{Store: s, FlushInterval: time.Millisecond, ErrorHandler: func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := l.Log("into the void", nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	within(t, "Close", func() {
		if err := l.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close = %v, want the deadline's error", err)
		}
	})
	mu.Lock()
	text := ""
	for _, err := range reported {
		text += err.Error() + "\n"
	}
	mu.Unlock()
	if !strings.Contains(text, "10 events undelivered") {
		t.Errorf("reported:\n%s\nwant the 10 undelivered events counted", text)
	}
	// Hang up: the stuck write fails and the Logger's goroutine ends.
	h.close()
	within(t, "db.Close", func() { db.Close() })
}
