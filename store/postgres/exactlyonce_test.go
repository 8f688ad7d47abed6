package postgres_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
	"github.com/google/uuid"
)

// cut is where the proxy cuts the connection of a batch's transaction.
type cut int

const (
	noCut        cut = iota
	beforeCopy       // the COPY statement never reaches the server
	duringCopy       // the server gets part of the rows, then the connection drops
	afterCopy        // both COPYs done, the COMMIT never reaches the server
	duringCommit     // the COMMIT reaches the server, the connection drops at once
	answerLost       // the server commits, its answer is lost
)

func (c cut) String() string {
	return [...]string{"none", "before COPY", "during COPY", "after COPY", "during COMMIT", "commit answer lost"}[c]
}

// proxy is a TCP proxy to the Postgres server that reads the protocol's
// messages and cuts the connection at the armed point, once.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	armed cut
	fired chan struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(c)
			}()
		}
	}()
	return p
}

func (p *proxy) arm(c cut) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = c
	p.fired = make(chan struct{})
	return p.fired
}

// take returns the armed cut if it is c, disarming it.
func (p *proxy) take(c cut) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.armed != c {
		return false
	}
	p.armed = noCut
	close(p.fired)
	return true
}

func (p *proxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	var once sync.Once
	kill := func() {
		once.Do(func() {
			client.Close()
			server.Close()
		})
	}
	defer kill()
	commitSent := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer kill()
		// Server to client: drop the answer to a COMMIT when armed so.
		for {
			typ, msg, err := readMsg(server, true)
			if err != nil {
				return
			}
			if typ == 'C' && strings.HasPrefix(string(msg[5:]), "COMMIT") {
				select {
				case <-commitSent:
					if p.take(answerLost) {
						return
					}
				default:
				}
			}
			if _, err := client.Write(msg); err != nil {
				return
			}
		}
	}()
	// Client to server. The first message (startup) has no type byte.
	first := true
	for {
		typ, msg, err := readMsg(client, !first)
		if err != nil {
			break
		}
		first = false
		switch {
		case typ == 'Q' && hasPrefixFold(msg[5:], "COPY ") && p.take(beforeCopy):
			return
		case typ == 'd' && p.take(duringCopy):
			server.Write(msg[:len(msg)/2])
			return
		case typ == 'Q' && hasPrefixFold(msg[5:], "COMMIT"):
			if p.take(afterCopy) {
				return
			}
			if p.take(duringCommit) {
				// Drop the client first, so the server's answer can
				// never be relayed back, then let the COMMIT through.
				client.Close()
				server.Write(msg)
				return
			}
			select {
			case commitSent <- struct{}{}:
			default:
			}
		}
		if _, err := server.Write(msg); err != nil {
			break
		}
	}
	kill()
	<-done
}

// hasPrefixFold reports whether the query text starts with prefix in any
// case (lib/pq sends "COPY", pgx "copy").
func hasPrefixFold(query []byte, prefix string) bool {
	return len(query) >= len(prefix) && strings.EqualFold(string(query[:len(prefix)]), prefix)
}

// readMsg reads one protocol message and returns its type and its bytes
// (type byte included when typed).
func readMsg(r io.Reader, typed bool) (byte, []byte, error) {
	hdr := 4
	if typed {
		hdr = 5
	}
	buf := make([]byte, hdr)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(buf[hdr-4:]))
	msg := make([]byte, hdr+n-4)
	copy(msg, buf)
	if _, err := io.ReadFull(r, msg[hdr:]); err != nil {
		return 0, nil, err
	}
	if !typed {
		// Pad so msg[5:] is safe for callers; the startup message is never inspected.
		return 0, msg, nil
	}
	return buf[0], msg, nil
}

// TestExactlyOnce cuts the connection at each point of a batch's
// transaction, retries the batch and checks that every event is stored
// exactly once, with all its values, through each driver, and with a
// digest chain, that the chain covers each event once.
func TestExactlyOnce(t *testing.T) {
	t.Parallel()
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			testExactlyOnce(t, d.open, false)
		})
	}
	t.Run("libpq-chain", func(t *testing.T) {
		t.Parallel()
		testExactlyOnce(t, func(t testing.TB, dsn, schema string) *postgres.Store {
			w, err := chain.NewWriter(chain.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema, Chain: w})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close(context.Background()) })
			return s
		}, true)
	})
}

func testExactlyOnce(t *testing.T, open opener, chained bool) {
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	direct := newStoreDSN(t, dsn, schema)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("pgtest DSN %q is not a URL: %v", dsn, err)
	}
	for _, c := range []cut{beforeCopy, duringCopy, afterCopy, duringCommit, answerLost} {
		t.Run(c.String(), func(t *testing.T) {
			p := newProxy(t, u.Host)
			pu := *u
			pu.Host = p.ln.Addr().String()
			q := pu.Query()
			q.Set("sslmode", "disable")
			pu.RawQuery = q.Encode()
			ctx := context.Background()
			s := open(t, pu.String(), schema)

			var batch []audit.Event
			for i := range 300 {
				e := event(i, audit.P("a", i), audit.P("b", "text"), audit.P("c", true),
					audit.P("d", 1.5), audit.P("obj", audit.Ref("query", uuid.NewString())))
				e.SessionID = fmt.Sprintf("session-%s-%d", c, i%7)
				batch = append(batch, e)
			}
			fired := p.arm(c)
			err = s.Write(ctx, batch)
			select {
			case <-fired:
			default:
				t.Fatalf("the proxy never cut the connection (Write returned %v)", err)
			}
			if c != duringCommit && c != answerLost {
				// Nothing can have been committed.
				if n := countEvents(t, direct, batch); n != 0 {
					t.Fatalf("after a cut %s, %d events are stored", c, n)
				}
			}
			if err == nil {
				t.Fatal("Write succeeded although the connection was cut")
			}
			if !errors.Is(err, audit.ErrUnavailable) {
				t.Errorf("Write: %v, want an error wrapping ErrUnavailable", err)
			}
			// Retry until it goes through, as the Logger does.
			deadline := time.Now().Add(10 * time.Second)
			for err != nil && !audit.IsPermanent(err) && time.Now().Before(deadline) {
				err = s.Write(ctx, batch)
			}
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if n := countEvents(t, direct, batch); n != len(batch) {
				t.Errorf("stored %d events, want %d", n, len(batch))
			}
			var values int
			ids := make([]string, len(batch))
			for i := range batch {
				ids[i] = batch[i].ID.String()
			}
			if err := direct.DB().Get(&values, "SELECT count(*) FROM "+quote(schema)+".event_parameter_values WHERE event_id::text = ANY(string_to_array($1, ','))", strings.Join(ids, ",")); err != nil {
				t.Fatal(err)
			}
			if values != 5*len(batch) {
				t.Errorf("stored %d values, want %d", values, 5*len(batch))
			}
			if chained {
				if r, err := chain.Verify(ctx, direct, chain.VerifyOptions{}); err != nil || !r.OK() {
					t.Errorf("Verify: %+v, %v", r, err)
				}
			}
		})
	}
}

func countEvents(t *testing.T, s *postgres.Store, batch []audit.Event) int {
	t.Helper()
	ids := make([]string, len(batch))
	for i := range batch {
		ids[i] = batch[i].ID.String()
	}
	var n int
	if err := s.DB().Get(&n, "SELECT count(*) FROM "+quote(s.Schema())+".events WHERE id::text = ANY(string_to_array($1, ','))", strings.Join(ids, ",")); err != nil {
		t.Fatal(err)
	}
	return n
}
