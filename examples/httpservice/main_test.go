package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/store/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is the service's own log, written by the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestService runs the service on a real listener, drives it with HTTP
// requests, shuts it down, and checks the audit trail in the store.
func TestService(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New(memory.Options{})
	ownLog := &syncBuffer{}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- run(ctx, ln, store, ownLog) }()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	base := "http://" + ln.Addr().String()
	do := func(method, path, user string, wantStatus int) string {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.Header.Set("X-User", user)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, body)
		}
		return string(body)
	}

	do("GET", "/items/7", "ann", 200)
	if body := do("POST", "/transfer?to=bob&amount=30", "ann", 200); body != "balance 70\n" {
		t.Errorf("transfer: %q", body)
	}
	do("POST", "/transfer?to=bob&amount=500", "ann", 400)
	do("GET", "/balance", "bob", 200)
	do("GET", "/boom", "bob", 500)
	do("POST", "/reindex?fail=panic", "ann", 202)
	do("POST", "/reindex?fail=error", "ann", 202)
	do("GET", "/nowhere", "", 404)

	calls := do("GET", "/audit/calls", "", 200)
	for _, want := range []string{"ann", "transfer", "amount=30 to=bob", "balance=70", "insufficient funds", "result=130"} {
		if !strings.Contains(calls, want) {
			t.Errorf("calls table lacks %q:\n%s", want, calls)
		}
	}
	perf := do("GET", "/audit/performance", "", 200)
	for _, want := range []string{"GET /items/{id}", "POST /transfer", "func transfer"} {
		if !strings.Contains(perf, want) {
			t.Errorf("performance table lacks %q:\n%s", want, perf)
		}
	}

	stop()
	if err := <-ran; err != nil {
		t.Fatalf("run: %v", err)
	}

	// Shutdown closed the Logger: every event is in the store.
	page, err := store.Read(context.Background(), audit.Query{Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	evs := page.Events
	find := func(what string, match func(e *audit.Event) bool) *audit.Event {
		t.Helper()
		for i := range evs {
			if match(&evs[i]) {
				return &evs[i]
			}
		}
		t.Errorf("no event: %s", what)
		return &audit.Event{}
	}
	param := func(e *audit.Event, key string) string {
		v, ok := e.Param(key)
		if !ok {
			return "<missing>"
		}
		return v.String()
	}
	request := func(route, status string) func(e *audit.Event) bool {
		return func(e *audit.Event) bool {
			return e.Type == audit.TypeHTTPRequest && param(e, "route") == route && param(e, "status") == status
		}
	}

	// net/http: every request, with its route pattern, status, ms and user.
	for _, c := range []struct{ route, status, user, session string }{
		{"GET /items/{id}", "200", "ann", "session-ann"},
		{"POST /transfer", "200", "ann", "session-ann"},
		{"POST /transfer", "400", "ann", "session-ann"},
		{"GET /boom", "500", "bob", "session-bob"},
		{"POST /reindex", "202", "ann", "session-ann"},
		{"", "404", "", ""},
	} {
		e := find("request "+c.route+" "+c.status, request(c.route, c.status))
		if e.Level != audit.LevelUsage || e.UserID != c.user || e.SessionID != c.session || param(e, "method") == "<missing>" || param(e, "ms") == "<missing>" {
			t.Errorf("request event %+v", e)
		}
	}

	// slog: the handler's slog call is an audit event of its own type.
	viewed := find("item viewed", func(e *audit.Event) bool { return e.Type == "item-viewed" })
	// RequestParams ties it to its request and client.
	if req := find("item request", request("GET /items/{id}", "200")); param(viewed, "request_id") != param(req, "request_id") ||
		param(req, "request_id") == "<missing>" || param(viewed, "client_ip") != "127.0.0.1" {
		t.Errorf("item viewed: request_id %s client_ip %s; its request's request_id %s",
			param(viewed, "request_id"), param(viewed, "client_ip"), param(req, "request_id"))
	}
	if viewed.Level != audit.LevelAudit || viewed.UserID != "ann" || param(viewed, "item") != "7" || param(viewed, "service") != "httpservice" {
		t.Errorf("slog event %+v", viewed)
	}
	if ents := viewed.Entities(); len(ents) != 1 || ents[0] != audit.Ref("item", "7") {
		t.Errorf("item reference %v", ents)
	}

	// Function calls: inputs and outputs told apart, the error is the event.
	ok := find("transfer that succeeded", func(e *audit.Event) bool {
		return e.Type == audit.TypeFunctionCall && e.Level == audit.LevelAudit && param(e, "function") == "transfer"
	})
	if param(ok, "in.amount") != "30" || param(ok, "in.to") != "bob" || param(ok, "out.balance") != "70" || ok.UserID != "ann" {
		t.Errorf("transfer event %+v", ok)
	}
	failed := find("transfer that failed", func(e *audit.Event) bool {
		return e.Type == audit.TypeFunctionCall && e.Level == audit.LevelError
	})
	if failed.Message != "insufficient funds" || param(failed, "in.amount") != "500" || failed.Fingerprint == "" || failed.UserID != "ann" {
		t.Errorf("failed transfer event %+v", failed)
	}
	bal := find("balance", func(e *audit.Event) bool {
		return param(e, "function") == "balance" && e.Type == audit.TypeFunctionCall
	})
	if param(bal, "out.result") != "130" || bal.UserID != "bob" {
		t.Errorf("balance event %+v", bal)
	}

	// Panics: the handler's, recovered by the middleware, and the
	// background job's, recovered by Logger.Go; and the job's error.
	boom := find("handler panic", func(e *audit.Event) bool { return e.Type == audit.TypeError && param(e, "route") == "GET /boom" })
	if !strings.HasPrefix(boom.Message, "panic: assignment to entry in nil map") || boom.UserID != "bob" || !strings.Contains(boom.StackTrace, "httpservice.(*service).boom(") {
		t.Errorf("handler panic event %+v", boom)
	}
	if req := find("boom request", request("GET /boom", "500")); param(req, "error_fingerprint") != boom.Fingerprint {
		t.Errorf("the request does not link its error: %q vs %q", param(req, "error_fingerprint"), boom.Fingerprint)
	}
	job := find("job panic", func(e *audit.Event) bool {
		return e.Type == audit.TypeError && param(e, "function") == "reindex" && strings.HasPrefix(e.Message, "panic: ")
	})
	if !strings.Contains(job.Message, "index out of range") || job.UserID != "ann" || job.Fingerprint == "" {
		t.Errorf("job panic event %+v", job)
	}
	find("job error", func(e *audit.Event) bool {
		return e.Type == audit.TypeError && param(e, "function") == "reindex" && e.Message == "index store unavailable"
	})

	// audit -> slog: the events are in the service's own log too.
	if out := ownLog.String(); !strings.Contains(out, "insufficient funds") || !strings.Contains(out, "audit.type=http-request") {
		t.Errorf("the service's log lacks the events:\n%s", out)
	}
}
