package audithttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/audithttp"
	"github.com/auditkit/audit/internal/browsertest"
	"github.com/auditkit/audit/store/memory"
)

// browser starts a headless Chromium and returns a context to drive it.
func browser(t *testing.T) context.Context { return browsertest.Start(t, 90*time.Second) }

// page is the test application's page: it loads audit.js from the server
// and keeps a Logger in window.audit.
const page = `<!doctype html><html><body><script type="module">
import {Logger} from '/audit.js';
window.audit = new Logger((m) => { m.params.page = 'home'; }, {params: {app: 'sales'}, interval: 100});
window.ready = true;
</script></body></html>`

// beaconServer is the test application behind a browser: a cookie stands
// for its session; requests to the ingest handler are reported on posts.
type beaconServer struct {
	*httptest.Server
	store *memory.Store
	mu    sync.Mutex
	types []string // Content-Type of each ingest request
	posts chan struct{}
	// fail, when set, answers the next ingest request in its place.
	fail func(w http.ResponseWriter, r *http.Request, ingest http.Handler)
}

func newBeaconServer(t *testing.T) *beaconServer {
	t.Helper()
	st := memory.New(memory.Options{})
	logger, err := audit.New(audit.Options{Store: st, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logger.Close(context.Background()) })
	ingest, err := audithttp.Ingest(logger, &audithttp.IngestOptions{
		Subject: func(r *http.Request) audit.Subject {
			c, err := r.Cookie("session")
			if err != nil {
				return audit.Subject{}
			}
			user, _, _ := strings.Cut(c.Value, ".")
			return audit.Subject{UserID: user, SessionID: c.Value}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &beaconServer{store: st, posts: make(chan struct{}, 100)}
	mux := http.NewServeMux()
	mux.Handle("GET /audit.js", audithttp.Client())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "alice.s-1", Path: "/", HttpOnly: true})
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, page)
	})
	mux.HandleFunc("GET /other", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "other page") })
	mux.Handle("POST /audit/ingest", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		fail := s.fail
		s.fail = nil
		s.mu.Unlock()
		if fail != nil {
			fail(w, r, ingest)
		} else {
			ingest.ServeHTTP(w, r)
		}
		s.mu.Lock()
		s.types = append(s.types, r.Header.Get("Content-Type"))
		s.mu.Unlock()
		s.posts <- struct{}{}
	}))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *beaconServer) byMessage(t *testing.T) map[string]audit.Event {
	t.Helper()
	page, err := s.store.Read(context.Background(), audit.Query{Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]audit.Event{}
	for _, e := range page.Events {
		m[e.Message] = e
	}
	return m
}

// TestClientInBrowser runs audit.js in headless Chromium against the
// handler: the JS Logger's methods, static params and putCallback, the
// server's attribution from the session cookie, a refused audit record,
// and the beacon that sends what is left when the page goes away.
func TestClientInBrowser(t *testing.T) {
	s := newBeaconServer(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/"),
		chromedp.Poll[chromedp.Void](`window.ready === true`, chromedp.WithPollingTimeout(20*time.Second)),
	); err != nil {
		t.Fatal(err)
	}

	// Every method but audit and log, posted by flush.
	stats, err := chromedp.Run(ctx, chromedp.Evaluate[clientStats](`(async () => {
		const l = window.audit;
		l.usage('menu item clicked', {item: 'File | Open', query: {kind: 'query', id: 'q-1'}}, 'main-menu-item-click');
		l.usage('dialog ok', {dialog: 'Export'}, 'dialog-ok');
		l.info('page shown', {user_id: 'mallory'});
		l.debug('state loaded');
		l.warning('slow render', {ms: 812});
		l.error(new Error('x is undefined'), {component: 'grid'});
		l.error('plain failure');
		await l.flush();
		return {sent: l.stats.sent, dropped: l.stats.dropped, refused: l.stats.refused};
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if stats.Sent != 7 || stats.Refused != 0 {
		t.Fatalf("client stats %+v, want 7 sent", stats)
	}
	got := s.byMessage(t)
	want := map[string]struct {
		level audit.Level
		typ   string
	}{
		"menu item clicked": {audit.LevelUsage, "main-menu-item-click"},
		"dialog ok":         {audit.LevelUsage, "dialog-ok"},
		"page shown":        {audit.LevelInfo, audit.TypeLog},
		"state loaded":      {audit.LevelDebug, audit.TypeLog},
		"slow render":       {audit.LevelWarning, audit.TypeLog},
		"x is undefined":    {audit.LevelError, audit.TypeError},
		"plain failure":     {audit.LevelError, audit.TypeError},
	}
	for msg, w := range want {
		e, ok := got[msg]
		if !ok {
			t.Errorf("%q not stored; stored %v", msg, keys(got))
			continue
		}
		if e.Level != w.level || (w.typ != audit.TypeLog && e.Type != w.typ) {
			t.Errorf("%q: level %s type %q, want %s %q", msg, e.Level, e.Type, w.level, w.typ)
		}
		if e.UserID != "alice" || e.SessionID != "alice.s-1" {
			t.Errorf("%q attributed to %q/%q, want the cookie's alice/alice.s-1", msg, e.UserID, e.SessionID)
		}
		if v, _ := e.Param("app"); v.String() != "sales" {
			t.Errorf("%q: static param app = %v", msg, v)
		}
		if v, _ := e.Param("page"); v.String() != "home" {
			t.Errorf("%q: putCallback param page = %v", msg, v)
		}
	}
	if ent, _ := mustParam(t, got["menu item clicked"], "query").Entity(); ent != audit.Ref("query", "q-1") {
		t.Errorf("object reference: %v", ent)
	}
	if v := mustParam(t, got["slow render"], "ms"); v.Kind() != audit.KindInt64 || v.Int64() != 812 {
		t.Errorf("ms param: %v (%s)", v, v.Kind())
	}
	if e := got["x is undefined"]; !strings.Contains(e.StackTrace, "x is undefined") || e.Fingerprint == "" {
		t.Errorf("Error's stack: %q, fingerprint %q", e.StackTrace, e.Fingerprint)
	}
	if e := got["plain failure"]; e.StackTrace == "" {
		t.Error("a string error gets the caller's stack")
	}

	// An audit record is the server's to write: refused, and not retried.
	stats, err = chromedp.Run(ctx, chromedp.Evaluate[clientStats](`(async () => {
		window.audit.audit('report exported', {report: 'r-1'});
		await window.audit.flush();
		return {sent: window.audit.stats.sent, refused: window.audit.stats.refused};
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if stats.Refused != 1 {
		t.Errorf("audit record: client stats %+v, want 1 refused", stats)
	}
	if _, ok := s.byMessage(t)["report exported"]; ok {
		t.Error("a browser's audit record was stored")
	}

	// Records left when the page goes away leave by beacon.
	drain(s.posts)
	err = chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`clearInterval(window.audit._timer);
			window.audit.usage('viewer rendered', {viewer: 'scatter plot'}, 'viewer-rendered'); true`),
		chromedp.Navigate(s.URL+"/other"),
	)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.posts:
	case <-time.After(20 * time.Second):
		t.Fatal("no beacon after the page was left")
	}
	e, ok := s.byMessage(t)["viewer rendered"]
	if !ok || e.UserID != "alice" || e.Type != "viewer-rendered" {
		t.Errorf("beacon record: %+v (stored: %v)", e, ok)
	}
	s.mu.Lock()
	last := s.types[len(s.types)-1]
	s.mu.Unlock()
	if !strings.HasPrefix(last, "text/plain") {
		t.Errorf("beacon content type %q, want text/plain (sendBeacon's string body)", last)
	}
}

func drain(c chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func keys(m map[string]audit.Event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// clientStats is the Logger's stats, as the page returns them.
type clientStats struct{ Sent, Dropped, Refused int }

// TestClientRetries checks that the client resends exactly what the server
// did not take: after a 503 that took the first record of three, and after
// a 429 that took none, every record is stored once.
func TestClientRetries(t *testing.T) {
	s := newBeaconServer(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/"),
		chromedp.Poll[chromedp.Void](`window.ready === true`, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate[chromedp.Void](`clearInterval(window.audit._timer); true`),
	); err != nil {
		t.Fatal(err)
	}
	// The server logs the first record, then its queue refuses the rest.
	s.mu.Lock()
	s.fail = func(w http.ResponseWriter, r *http.Request, ingest http.Handler) {
		var records []json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&records); err != nil || len(records) != 3 {
			t.Errorf("first post: %d records, %v", len(records), err)
			return
		}
		first, _ := json.Marshal(records[:1])
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(first))
		ingest.ServeHTTP(httptest.NewRecorder(), r2)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":"the audit log refused a record: queue full","accepted":1}`)
	}
	s.mu.Unlock()
	stats, err := chromedp.Run(ctx, chromedp.Evaluate[clientStats](`(async () => {
		const l = window.audit;
		l.usage('one'); l.usage('two'); l.usage('three');
		await l.flush(); // 503: one taken
		await l.flush(); // the other two
		return {sent: l.stats.sent, dropped: l.stats.dropped, refused: l.stats.refused};
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if stats.Sent != 3 || stats.Refused != 0 || stats.Dropped != 0 {
		t.Errorf("after a 503: client stats %+v, want 3 sent", stats)
	}
	// Too many records: nothing taken, retried after Retry-After.
	s.mu.Lock()
	s.fail = func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":"more than 20 records per second","accepted":0}`)
	}
	s.mu.Unlock()
	stats, err = chromedp.Run(ctx, chromedp.Evaluate[clientStats](`(async () => {
		const l = window.audit;
		l.usage('four');
		await l.flush(); // 429
		const early = l.stats.sent;
		await l.flush(); // before Retry-After: nothing is posted
		if (l.stats.sent !== early) throw new Error('posted before Retry-After');
		await new Promise((ok) => setTimeout(ok, 1100));
		await l.flush();
		return {sent: l.stats.sent, dropped: l.stats.dropped, refused: l.stats.refused};
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if stats.Sent != 4 {
		t.Errorf("after a 429: client stats %+v, want 4 sent", stats)
	}
	page, err := s.store.Read(context.Background(), audit.Query{Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range page.Events {
		count[e.Message]++
	}
	for _, m := range []string{"one", "two", "three", "four"} {
		if count[m] != 1 {
			t.Errorf("%q stored %d times, want once (all: %v)", m, count[m], count)
		}
	}
}
