package audithttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/audithttp"
	"github.com/auditkit/audit/store/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// userKey is where the test application's own authentication puts the user.
type userKey struct{}

// authenticate is the application's middleware: it knows the user from a
// header (a session cookie or token in a real service).
func authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := r.Header.Get("X-User"); u != "" {
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		}
		next.ServeHTTP(w, r)
	})
}

func subject(r *http.Request) audit.Subject {
	u, _ := r.Context().Value(userKey{}).(string)
	return audit.Subject{UserID: u, SessionID: r.Header.Get("X-Session")}
}

func panicky() { panic("nil order") }

func newServer(t *testing.T, opts *audithttp.Options) (*httptest.Server, *memory.Store) {
	t.Helper()
	st := memory.New(memory.Options{})
	logger, err := audit.New(audit.Options{Store: st, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		_ = logger.For(r.Context()).Audit("item viewed", map[string]any{"item": r.PathValue("id")})
		if r.PathValue("id") == "0" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "item "+r.PathValue("id"))
	})
	mux.HandleFunc("/quiet", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panicky() })
	mux.HandleFunc("/panic-late", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		http.NewResponseController(w).Flush()
		panicky()
	})
	mux.HandleFunc("/abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "a")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the middleware: %v", err)
		}
		w.(http.Flusher).Flush()
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack through the middleware: %v", err)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		_ = buf.Flush()
	})
	mux.HandleFunc("/hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("/health", func(http.ResponseWriter, *http.Request) {})
	if opts == nil {
		opts = &audithttp.Options{Subject: subject, Skip: func(r *http.Request) bool { return r.URL.Path == "/health" }}
	}
	srv := httptest.NewServer(authenticate(audithttp.Middleware(logger, opts)(mux)))
	srv.Config.ErrorLog = nil
	t.Cleanup(func() {
		srv.Close()
		_ = logger.Close(context.Background())
	})
	return srv, st
}

func get(t *testing.T, srv *httptest.Server, path, user string) (*http.Response, string, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	if user != "" {
		req.Header.Set("X-User", user)
		req.Header.Set("X-Session", "sess-"+user)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

func events(t *testing.T, st *memory.Store, q audit.Query) []audit.Event {
	t.Helper()
	q.Limit = audit.MaxLimit
	page, err := st.Read(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	evs := page.Events
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
	return evs
}

func str(e audit.Event, key string) string {
	v, ok := e.Param(key)
	if !ok {
		return "<missing>"
	}
	return v.String()
}

func TestRequestsBecomeEvents(t *testing.T) {
	srv, st := newServer(t, nil)
	for _, c := range []struct {
		path, user string
		status     int
	}{{"/items/7", "ann", 200}, {"/items/0", "bob", 404}, {"/nowhere", "", 404}, {"/quiet", "ann", 200}, {"/health", "ann", 200}} {
		resp, _, err := get(t, srv, c.path, c.user)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.path, resp.StatusCode, c.status)
		}
	}

	reqs := events(t, st, audit.Query{Types: []string{audit.TypeHTTPRequest}})
	if len(reqs) != 4 {
		t.Fatalf("%d request events, want 4 (health skipped): %+v", len(reqs), reqs)
	}
	want := []struct{ route, status, user, msg string }{
		{"GET /items/{id}", "200", "ann", "GET /items/{id}"},
		{"GET /items/{id}", "404", "bob", "GET /items/{id}"},
		{"", "404", "", "GET (no route)"},
		{"/quiet", "200", "ann", "GET /quiet"},
	}
	for i, w := range want {
		e := reqs[i]
		if e.Level != audit.LevelUsage || str(e, "method") != "GET" || str(e, "route") != w.route || str(e, "status") != w.status || e.UserID != w.user || e.Message != w.msg {
			t.Errorf("request %d: %+v, want %+v", i, e, w)
		}
		if w.user != "" && e.SessionID != "sess-"+w.user {
			t.Errorf("request %d: session %q", i, e.SessionID)
		}
		if ms, _ := e.Param("ms"); ms.Kind() != audit.KindInt64 || ms.Int64() != e.Duration.Milliseconds() {
			t.Errorf("request %d: ms %v, duration %v", i, ms, e.Duration)
		}
		if v, _ := e.Param("status"); v.Kind() != audit.KindInt64 {
			t.Errorf("status kind %v", v.Kind())
		}
	}

	// The handler's own events are attributed through the request context.
	viewed := events(t, st, audit.Query{Types: []string{audit.TypeLog}})
	if len(viewed) != 2 || viewed[0].UserID != "ann" || viewed[0].SessionID != "sess-ann" || viewed[1].UserID != "bob" {
		t.Errorf("handler events %+v", viewed)
	}
	// The request event's time is when the request arrived: before the
	// handler's events.
	if !reqs[0].Time.Before(viewed[0].Time) && !reqs[0].Time.Equal(viewed[0].Time) {
		t.Errorf("request at %v, its handler's event at %v", reqs[0].Time, viewed[0].Time)
	}
}

func TestPanicBecomesErrorAnd500(t *testing.T) {
	srv, st := newServer(t, nil)
	resp, body, err := get(t, srv, "/panic", "ann")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 500 || !strings.Contains(body, "Internal Server Error") {
		t.Errorf("status %d body %q", resp.StatusCode, body)
	}
	// The server goes on.
	if resp, _, err := get(t, srv, "/items/1", "ann"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the panic: %v %v", resp, err)
	}

	errs := events(t, st, audit.Query{Levels: []audit.Level{audit.LevelError}})
	if len(errs) != 1 {
		t.Fatalf("%d error events", len(errs))
	}
	e := errs[0]
	if e.Type != audit.TypeError || e.Message != "panic: nil order" || e.UserID != "ann" || str(e, "route") != "/panic" || str(e, "error_type") != "string" {
		t.Errorf("error event %+v", e)
	}
	if lines := strings.SplitN(e.StackTrace, "\n", 3); len(lines) < 2 || !strings.HasPrefix(lines[1], "github.com/auditkit/audit/audithttp_test.panicky(") {
		t.Errorf("stack does not start where it panicked:\n%s", e.StackTrace)
	}
	reqs := events(t, st, audit.Query{Types: []string{audit.TypeHTTPRequest}})
	if len(reqs) != 2 || str(reqs[0], "status") != "500" || str(reqs[0], "error_fingerprint") != e.Fingerprint || e.Fingerprint == "" {
		t.Errorf("request events %+v, error fingerprint %q", reqs, e.Fingerprint)
	}
}

func TestPanicAfterWriteAbortsTheResponse(t *testing.T) {
	srv, st := newServer(t, nil)
	_, _, err := get(t, srv, "/panic-late", "ann")
	if err == nil {
		t.Error("the client got a complete response from a handler that panicked")
	}
	if errs := events(t, st, audit.Query{Levels: []audit.Level{audit.LevelError}}); len(errs) != 1 {
		t.Errorf("%d error events", len(errs))
	}
	reqs := events(t, st, audit.Query{Types: []string{audit.TypeHTTPRequest}})
	if len(reqs) != 1 || str(reqs[0], "status") != "200" || str(reqs[0], "error_fingerprint") == "<missing>" {
		t.Errorf("request events %+v", reqs)
	}
}

func TestAbortHandlerIsNotAnError(t *testing.T) {
	srv, st := newServer(t, nil)
	if _, _, err := get(t, srv, "/abort", ""); err == nil {
		t.Error("the aborted response reached the client")
	}
	if errs := events(t, st, audit.Query{Levels: []audit.Level{audit.LevelError}}); len(errs) != 0 {
		t.Errorf("error events %+v", errs)
	}
	reqs := events(t, st, audit.Query{Types: []string{audit.TypeHTTPRequest}})
	if len(reqs) != 1 || str(reqs[0], "aborted") != "true" {
		t.Errorf("request events %+v", reqs)
	}
}

func TestWriterKeepsAbilities(t *testing.T) {
	srv, st := newServer(t, nil)
	if _, body, err := get(t, srv, "/stream", ""); err != nil || body != "a" {
		t.Fatalf("stream: %q %v", body, err)
	}
	if resp, _, err := get(t, srv, "/hints", ""); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("hints: %v %v", resp, err)
	}
	resp, body, err := get(t, srv, "/hijack", "")
	if err != nil || resp.StatusCode != 200 || body != "hi" {
		t.Fatalf("hijack: %v %q %v", resp, body, err)
	}
	// The client may read the hijacked response before the middleware
	// records the request.
	var reqs []audit.Event
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if reqs = events(t, st, audit.Query{Types: []string{audit.TypeHTTPRequest}}); len(reqs) == 3 {
			break
		}
	}
	if len(reqs) != 3 || str(reqs[0], "status") != "200" || str(reqs[1], "status") != "201" || str(reqs[2], "hijacked") != "true" || str(reqs[2], "status") != "<missing>" {
		t.Errorf("request events %+v", reqs)
	}
}

func TestStatusRecorder(t *testing.T) {
	st := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: st, Sync: true})
	defer logger.Close(context.Background())
	h := audithttp.Middleware(logger, &audithttp.Options{
		Type:  "api-call",
		Route: func(*http.Request) string { return "custom" },
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		w.WriteHeader(http.StatusOK) // superfluous: the first final status counts
		_, _ = io.Copy(w, strings.NewReader("body"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/x", nil))
	if rec.Code != http.StatusTeapot || rec.Body.String() != "body" {
		t.Errorf("response %d %q", rec.Code, rec.Body)
	}
	evs := events(t, st, audit.Query{})
	if len(evs) != 1 || evs[0].Type != "api-call" || str(evs[0], "status") != "418" || str(evs[0], "route") != "custom" || evs[0].Message != "POST custom" {
		t.Errorf("events %+v", evs)
	}
}

// TestRouteWithoutMux checks that a request no ServeMux routed has no route.
func TestRouteWithoutMux(t *testing.T) {
	st := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: st, Sync: true})
	defer logger.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	h := audithttp.Middleware(logger, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/secret/123", nil).WithContext(ctx))
	evs := events(t, st, audit.Query{})
	if len(evs) != 1 || str(evs[0], "route") != "" || strings.Contains(evs[0].Message, "123") {
		t.Errorf("events %+v", evs)
	}
}
