package audithttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/audithttp"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/store/memory"
)

// ingestServer is the test application: its authentication (X-User,
// X-Session headers standing for a session cookie), the Middleware, and
// Ingest at /audit/ingest, logging into a memory store.
type ingestServer struct {
	*httptest.Server
	store *memory.Store
	clock *audittest.Clock
}

func newIngestServer(t *testing.T, opts audithttp.IngestOptions) *ingestServer {
	t.Helper()
	st := memory.New(memory.Options{})
	logger, err := audit.New(audit.Options{Store: st, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logger.Close(context.Background()) })
	clk := audittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	ingest, err := audithttp.Ingest(logger, &opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/audit/ingest", ingest)
	mux.Handle("GET /audit.js", audithttp.Client())
	srv := httptest.NewServer(authenticate(audithttp.Middleware(logger, &audithttp.Options{
		Subject: subject,
		Skip:    func(*http.Request) bool { return true }, // only the browser's records
	})(mux)))
	t.Cleanup(srv.Close)
	return &ingestServer{Server: srv, store: st, clock: clk}
}

// post sends body as user and returns the status and the decoded answer.
func (s *ingestServer) post(t *testing.T, user, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/audit/ingest", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("X-User", user)
		req.Header.Set("X-Session", user+"-session")
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var answer map[string]any
	data, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(data, &answer); err != nil {
		t.Errorf("status %d: the answer is not JSON: %q", res.StatusCode, data)
	}
	return res.StatusCode, answer
}

func (s *ingestServer) events(t *testing.T) []audit.Event {
	t.Helper()
	page, err := s.store.Read(context.Background(), audit.Query{Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

func TestIngestAttributesAndConverts(t *testing.T) {
	s := newIngestServer(t, audithttp.IngestOptions{})
	body := `[
	 {"level": "usage", "message": "menu item clicked", "type": "main-menu-item-click",
	  "params": {"item": "File | Open", "n": 3, "big": 12345678901234567890, "ratio": 0.5, "ok": true, "none": null,
	             "query": {"kind": "query", "id": "q-1"}, "list": [1, 2], "obj": {"a": 1},
	             "user_id": "mallory", "session_id": "forged"}},
	 {"level": "error", "message": "TypeError: x is undefined", "stackTrace": "TypeError\n    at f (app.js:1:2)"},
	 {"level": "info", "message": "page shown"}
	]`
	code, answer := s.post(t, "alice", "application/json", body)
	if code != http.StatusOK || answer["accepted"] != 3.0 {
		t.Fatalf("status %d, answer %v", code, answer)
	}
	events := s.events(t)
	if len(events) != 3 {
		t.Fatalf("%d events stored, want 3", len(events))
	}
	for _, e := range events {
		if e.UserID != "alice" || e.SessionID != "alice-session" {
			t.Errorf("%q attributed to %q/%q, want alice/alice-session", e.Message, e.UserID, e.SessionID)
		}
		if v, _ := e.Param(audithttp.ClientParam); v.String() != "browser" {
			t.Errorf("%q: client param %v", e.Message, v)
		}
	}
	byMsg := map[string]audit.Event{}
	for _, e := range events {
		byMsg[e.Message] = e
	}
	click := byMsg["menu item clicked"]
	if click.Level != audit.LevelUsage || click.Type != "main-menu-item-click" {
		t.Errorf("click: level %s type %q", click.Level, click.Type)
	}
	wantKinds := map[string]audit.Kind{
		"item": audit.KindString, "n": audit.KindInt64, "big": audit.KindFloat64, "ratio": audit.KindFloat64,
		"ok": audit.KindBool, "none": audit.KindNull, "query": audit.KindEntity, "list": audit.KindJSON, "obj": audit.KindJSON,
		"user_id": audit.KindString, "session_id": audit.KindString, // plain params, never the attribution
	}
	for k, kind := range wantKinds {
		v, ok := click.Param(k)
		if !ok || v.Kind() != kind {
			t.Errorf("param %s: %v (%s), want kind %s", k, v, v.Kind(), kind)
		}
	}
	if ent, _ := mustParam(t, click, "query").Entity(); ent != audit.Ref("query", "q-1") {
		t.Errorf("query param: %v", ent)
	}
	boom := byMsg["TypeError: x is undefined"]
	if boom.Level != audit.LevelError || boom.Type != audit.TypeError || boom.StackTrace == "" || boom.Fingerprint == "" {
		t.Errorf("error record: %+v", boom)
	}
	if info := byMsg["page shown"]; info.Level != audit.LevelInfo {
		t.Errorf("info record: %+v", info)
	}
}

func mustParam(t *testing.T, e audit.Event, key string) audit.Value {
	t.Helper()
	v, ok := e.Param(key)
	if !ok {
		t.Fatalf("no param %s in %+v", key, e)
	}
	return v
}

// TestIngestHostileBodies sends what a broken or hostile client may send:
// each is refused with the right status and a message, and logs nothing.
func TestIngestHostileBodies(t *testing.T) {
	s := newIngestServer(t, audithttp.IngestOptions{MaxRecordBytes: 1 << 10, MaxBatchBytes: 8 << 10, MaxBatchRecords: 5, Burst: 5})
	ok := `{"level":"usage","message":"m"}`
	batch := func(records ...string) string { return "[" + strings.Join(records, ",") + "]" }
	for _, c := range []struct {
		name, user, ct, body string
		status               int
		says                 string
	}{
		{"no user", "", "", batch(ok), http.StatusUnauthorized, "no authenticated user"},
		{"content type", "bob", "application/xml", batch(ok), http.StatusUnsupportedMediaType, "content type"},
		{"empty body", "bob", "", "", http.StatusBadRequest, "JSON array"},
		{"an object", "bob", "", ok, http.StatusBadRequest, "JSON array"},
		{"truncated", "bob", "", `[{"level":"usage"`, http.StatusBadRequest, "malformed JSON"},
		{"empty batch", "bob", "", `[]`, http.StatusBadRequest, "empty batch"},
		{"invalid UTF-8", "bob", "", "[{\"level\":\"usage\",\"message\":\"\xff\"}]", http.StatusBadRequest, "UTF-8"},
		{"too many records", "bob", "", batch(ok, ok, ok, ok, ok, ok), http.StatusRequestEntityTooLarge, "at most 5"},
		{"record too big", "bob", "", batch(`{"level":"usage","message":"` + strings.Repeat("x", 2000) + `"}`), http.StatusRequestEntityTooLarge, "record 0"},
		{"batch too big", "bob", "", batch(strings.Repeat(`{"level":"usage","message":"`+strings.Repeat("x", 900)+`"},`, 10) + ok), http.StatusRequestEntityTooLarge, "batch larger"},
		{"huge nesting", "bob", "", "[" + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + "]", http.StatusRequestEntityTooLarge, "record 0"},
		{"audit level", "bob", "", batch(ok, `{"level":"audit","message":"forged audit"}`), http.StatusUnprocessableEntity, "record 1: level audit: not accepted"},
		{"unknown level", "bob", "", batch(`{"level":"fatal"}`), http.StatusUnprocessableEntity, `level "fatal"`},
		{"missing level", "bob", "", batch(`{"message":"m"}`), http.StatusUnprocessableEntity, `level ""`},
		{"record not an object", "bob", "", batch(`"text"`), http.StatusUnprocessableEntity, "not a JSON object"},
		{"null record", "bob", "", batch(`null`), http.StatusUnprocessableEntity, "not a JSON object"},
		{"message not a string", "bob", "", batch(`{"level":"usage","message":{"a":1}}`), http.StatusUnprocessableEntity, "message"},
		{"params not an object", "bob", "", batch(`{"level":"usage","params":[1,2]}`), http.StatusUnprocessableEntity, "params"},
		{"empty param key", "bob", "", batch(`{"level":"usage","params":{"":1}}`), http.StatusUnprocessableEntity, "empty key"},
		{"server's param", "bob", "", batch(`{"level":"usage","params":{"client":"server"}}`), http.StatusUnprocessableEntity, "set by the server"},
		{"wrong field types", "bob", "", batch(`{"level":7}`), http.StatusUnprocessableEntity, "record 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, answer := s.post(t, c.user, c.ct, c.body)
			if code != c.status {
				t.Errorf("status %d, want %d; answer %v", code, c.status, answer)
			}
			if msg, _ := answer["error"].(string); !strings.Contains(msg, c.says) {
				t.Errorf("error %q, want it to say %q", msg, c.says)
			}
		})
	}
	if events := s.events(t); len(events) != 0 {
		t.Errorf("refused batches logged %d events: %+v", len(events), events)
	}
	// GET is not ingest.
	res, err := http.Get(s.URL + "/audit/ingest")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
}

// TestIngestOrigin refuses records posted by another site's page, which
// the browser would send with the user's cookies.
func TestIngestOrigin(t *testing.T) {
	s := newIngestServer(t, audithttp.IngestOptions{Origins: []string{"https://app.example.com"}})
	body := `[{"level":"usage","message":"m"}]`
	for _, c := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no browser", nil, http.StatusOK},
		{"same origin", map[string]string{"Origin": s.URL}, http.StatusOK},
		{"listed origin", map[string]string{"Origin": "https://app.example.com"}, http.StatusOK},
		{"other site", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"null origin", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/audit/ingest", strings.NewReader(body))
		req.Header.Set("X-User", "ivan")
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, res.StatusCode, c.status)
		}
	}
	if n := len(s.events(t)); n != 3 {
		t.Errorf("%d events, want 3 (the refused origins log nothing)", n)
	}
}

// TestIngestNULAndControls keeps NUL bytes and control characters, which
// JSON escapes, as the values they are.
func TestIngestNULAndControls(t *testing.T) {
	s := newIngestServer(t, audithttp.IngestOptions{})
	code, answer := s.post(t, "bob", "text/plain;charset=UTF-8", `[{"level":"usage","message":"a\u0000b\u001b[2J","type":"t\u0000","params":{"k\u0000":"v\u0000"}}]`)
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, answer)
	}
	events := s.events(t)
	if len(events) != 1 || events[0].Message != "a\x00b\x1b[2J" || events[0].Type != "t\x00" || mustParam(t, events[0], "k\x00").String() != "v\x00" {
		t.Errorf("stored %+v", events)
	}
}

// TestIngestRateLimit gives each user a token bucket: a batch over the
// user's allowance is refused whole with 429 and Retry-After, other users
// are not affected, and the allowance comes back with time.
func TestIngestRateLimit(t *testing.T) {
	s := newIngestServer(t, audithttp.IngestOptions{Rate: 2, Burst: 4, MaxBatchRecords: 3})
	rec := `{"level":"usage","message":"m"}`
	three := "[" + rec + "," + rec + "," + rec + "]"
	if code, a := s.post(t, "carol", "", three); code != http.StatusOK {
		t.Fatalf("first batch: %d %v", code, a)
	}
	code, answer := s.post(t, "carol", "", three) // 1 token left
	if code != http.StatusTooManyRequests || !strings.Contains(answer["error"].(string), "records per second") {
		t.Fatalf("second batch: %d %v", code, answer)
	}
	if code, a := s.post(t, "dave", "", three); code != http.StatusOK {
		t.Errorf("another user: %d %v", code, a)
	}
	s.clock.Advance(time.Second) // 1 + 2 tokens
	if code, a := s.post(t, "carol", "", three); code != http.StatusOK {
		t.Errorf("after a second: %d %v", code, a)
	}
	if n := len(s.events(t)); n != 9 {
		t.Errorf("%d events, want 9: the refused batch logs nothing", n)
	}
}

// TestIngestRetryAfter checks the Retry-After header of a 429.
func TestIngestRetryAfter(t *testing.T) {
	s := newIngestServer(t, audithttp.IngestOptions{Rate: 0.5, Burst: 1, MaxBatchRecords: 1})
	rec := `[{"level":"usage","message":"m"}]`
	s.post(t, "erin", "", rec)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/audit/ingest", strings.NewReader(rec))
	req.Header.Set("X-User", "erin")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "2" {
		t.Errorf("status %d, Retry-After %q; want 429 and 2", res.StatusCode, res.Header.Get("Retry-After"))
	}
}

// TestIngestLevels lets the service choose the levels a browser may send.
func TestIngestLevels(t *testing.T) {
	s := newIngestServer(t, audithttp.IngestOptions{Levels: []audit.Level{audit.LevelAudit}})
	if code, a := s.post(t, "frank", "", `[{"level":"audit","message":"report exported","type":"log"}]`); code != http.StatusOK {
		t.Errorf("audit allowed: %d %v", code, a)
	}
	if code, _ := s.post(t, "frank", "", `[{"level":"usage","message":"m"}]`); code != http.StatusUnprocessableEntity {
		t.Errorf("usage not allowed: %d", code)
	}
}

func TestIngestOptionsInvalid(t *testing.T) {
	logger, err := audit.New(audit.Options{Store: memory.New(memory.Options{}), Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logger.Close(context.Background())
	for name, o := range map[string]audithttp.IngestOptions{
		"level":          {Levels: []audit.Level{9}},
		"rate":           {Rate: -1},
		"burst":          {Burst: 10, MaxBatchRecords: 20},
		"negative sizes": {MaxRecordBytes: -1, MaxBatchBytes: -1},
	} {
		if _, err := audithttp.Ingest(logger, &o); !errors.Is(err, audit.ErrInvalidOptions) {
			t.Errorf("%s: %v, want ErrInvalidOptions", name, err)
		}
	}
	if _, err := audithttp.Ingest(nil, nil); !errors.Is(err, audit.ErrInvalidOptions) {
		t.Errorf("nil logger: %v", err)
	}
}

// TestIngestLoggerRefuses answers 503 with the number of records logged
// before the Logger refused one, so the client resends only the rest.
func TestIngestLoggerRefuses(t *testing.T) {
	logger, err := audit.New(audit.Options{Store: memory.New(memory.Options{}), Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	h, err := audithttp.Ingest(logger, &audithttp.IngestOptions{
		Subject: func(*http.Request) audit.Subject { return audit.Subject{UserID: "gina"} },
	})
	if err != nil {
		t.Fatal(err)
	}
	logger.Close(context.Background()) // every record is now refused
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`[{"level":"usage"},{"level":"usage"}]`)))
	var answer struct {
		Error    string
		Accepted int
	}
	json.Unmarshal(rec.Body.Bytes(), &answer)
	if rec.Code != http.StatusServiceUnavailable || answer.Accepted != 0 || !strings.Contains(answer.Error, "closed") {
		t.Errorf("status %d, answer %+v", rec.Code, answer)
	}
}

func TestClientScript(t *testing.T) {
	s := newIngestServer(t, audithttp.IngestOptions{})
	res, err := http.Get(s.URL + "/audit.js")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(string(body), "export class Logger") {
		t.Errorf("status %d, type %q, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(body))
	}
	// A browser that has it revalidates it with its ETag.
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/audit.js", nil)
	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if res.Header.Get("ETag") == "" || again.StatusCode != http.StatusNotModified {
		t.Errorf("ETag %q, revalidation status %d", res.Header.Get("ETag"), again.StatusCode)
	}
}
