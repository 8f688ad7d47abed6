package dashboard_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/dashboard"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/store/memory"
)

func TestMain(m *testing.M) { pgtest.Main(m, func() error { return goleak.Find() }) }

// serve mounts a dashboard of store under /audit/ of a test server.
func serve(t *testing.T, store audit.Reader, opts dashboard.Options) (*dashboard.Handler, *httptest.Server) {
	t.Helper()
	h, err := dashboard.New(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/audit/", http.StripPrefix("/audit", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		h.Close(context.Background())
		srv.Close()
	})
	return h, srv
}

func first[A, B any](a A, _ B) A { return a }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := do(t, req)
	return status, body
}

// do sends req without following redirects, and returns the status, the
// Location and the body.
func do(t *testing.T, req *http.Request) (int, string, string) {
	t.Helper()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func TestViewsAndRequests(t *testing.T) {
	now := time.Now().UTC()
	s, events := fixture(t, 600, now)
	e := events[599]
	policy := settings.Config{Rules: []settings.Rule{{Scope: settings.ScopeUser, ID: "user01", Preset: settings.PresetVerbose}}}
	engine, err := settings.New(policy, settings.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(context.Background()) })
	_, srv := serve(t, s, dashboard.Options{Settings: engine})
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/audit/", 200, `<a href="overview" aria-current="page">`},
		{"/audit/log?level=error&range=30d", 200, `<tr class="lvl-error">`},
		{"/audit/log?text=disk+FAILURE", 200, "disk failure"},
		{"/audit/log?param=route&value=POST+/items", 200, "POST /items"},
		{"/audit/log?param=route", 400, "Param &#34;route&#34; without a Value"},
		{"/audit/log?level=loud", 400, "level"},
		{"/audit/log?range=2w", 400, "range"},
		{"/audit/log?since=yesterday", 400, "since"},
		{"/audit/log?since=2026-02-01&until=2026-01-01", 400, "is not before"},
		{"/audit/log?after=bogus", 400, "cursor"},
		{"/audit/event?id=" + e.ID.String(), 200, e.ID.String()},
		{"/audit/event?id=" + uuid.NewString(), 404, "not found"},
		{"/audit/event?id=x", 400, "not an event id"},
		{"/audit/usage?user=user01", 200, `href="log?user=user01"`},
		{"/audit/functions?function=Sum", 200, `data-function="Sum"`},
		{"/audit/errors", 200, "fp-0"},
		{"/audit/errors?fp=fp-1", 200, "main.save1()"},
		{"/audit/perf", 200, `data-name="GET /items/{id}"`},
		{"/audit/patterns?range=30d", 200, "Cluster 0"},
		{"/audit/object?kind=query&id=q-3", 200, "query:q-3"},
		{"/audit/object", 400, "id"},
		{"/audit/settings", 200, "user01"},
		{"/audit/nope", 404, ""},
	} {
		status, body := get(t, srv.URL+tc.path)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d, want %d with %q; body:\n%.2000s", tc.path, status, tc.status, tc.want, body)
		}
	}
	resp, err := http.Post(srv.URL+"/audit/log", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}

func TestSettingsNotConfigured(t *testing.T) {
	_, srv := serve(t, first(fixture(t, 10, time.Now())), dashboard.Options{})
	if status, body := get(t, srv.URL+"/audit/settings"); status != 200 || !strings.Contains(body, "No settings store is configured") {
		t.Errorf("settings without a store: %d\n%s", status, body)
	}
}

func TestNewRefuses(t *testing.T) {
	if _, err := dashboard.New(memory.New(memory.Options{}), dashboard.Options{}); !errors.Is(err, audit.ErrInvalidOptions) {
		t.Errorf("New(memory store) = %v, want ErrInvalidOptions", err)
	}
	s := first(fixture(t, 1, time.Now()))
	for _, o := range []dashboard.Options{{TailInterval: -1}, {MaxTails: -1}, {TailTimeout: -1}} {
		if _, err := dashboard.New(s, o); !errors.Is(err, audit.ErrInvalidOptions) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOptions", o, err)
		}
	}
}

// TestAssetsSize checks that the embedded script and styles stay small:
// under 300 KB gzip-compressed in all, as they are served.
func TestAssetsSize(t *testing.T) {
	_, srv := serve(t, first(fixture(t, 1, time.Now())), dashboard.Options{})
	total := 0
	for _, p := range []string{"static/app.js", "static/app.css", "static/vendor/uPlot.iife.min.js", "static/vendor/uPlot.min.css"} {
		req, _ := http.NewRequest("GET", srv.URL+"/audit/"+p, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: %d, Content-Encoding %q", p, resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if _, err := io.Copy(io.Discard, zr); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		total += len(b)
	}
	t.Logf("static files: %d bytes gzip-compressed", total)
	if total > 300<<10 {
		t.Errorf("static files are %d bytes compressed, over 300 KB", total)
	}
}

// TestTail follows the live tail without a browser: a new event arrives
// as a server-sent event with its row, and Close ends the stream.
func TestTail(t *testing.T) {
	s, _ := fixture(t, 20, time.Now())
	h, srv := serve(t, s, dashboard.Options{TailInterval: 20 * time.Millisecond, MaxTails: 1})
	// A deadline, so that an event the tail misses fails the test instead
	// of hanging it.
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, srv.URL+"/audit/tail?level=error", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("tail: %d %s", resp.StatusCode, ct)
	}
	if status, _ := get(t, srv.URL+"/audit/tail"); status != http.StatusServiceUnavailable {
		t.Errorf("a second tail with MaxTails 1: %d, want 503", status)
	}
	r := bufio.NewReader(resp.Body)
	for _, lvl := range []audit.Level{audit.LevelInfo, audit.LevelError} { // the info one is filtered out
		e := audit.Event{ID: uuid.Must(uuid.NewV7()), Time: time.Now(), Level: lvl, Type: "log", Message: "live " + lvl.String()}
		if err := s.Write(context.Background(), []audit.Event{e}); err != nil {
			t.Fatal(err)
		}
	}
	var data string
	for data == "" {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the tail: %v", err)
		}
		if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			data = d
		}
	}
	if !strings.Contains(data, "live error") || strings.Contains(data, "live info") {
		t.Errorf("tail sent %s, want the error event's row only", data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Errorf("the tail did not end cleanly at Close: %v", err)
	}
	if status, _ := get(t, srv.URL+"/audit/tail"); status != http.StatusServiceUnavailable {
		t.Errorf("a tail after Close: %d, want 503", status)
	}
}

// TestFilterApplied checks that every view over the events applies each of
// the user, group and level filters: its content (links aside, which keep
// the filters) changes with each.
func TestFilterApplied(t *testing.T) {
	now := time.Now().UTC()
	s, events := fixture(t, 600, now)
	_, srv := serve(t, s, dashboard.Options{Now: func() time.Time { return now }, // the same window in every request
		Groups: analysis.GroupMap(map[string][]string{"user01": {"ops"}, "user03": {"ops"}})})
	main := regexp.MustCompile(`(?s)<main[^>]*>.*</main>`)
	links := regexp.MustCompile(`\s(href|data-[\w-]+)="[^"]*"`)
	content := func(path string) string {
		t.Helper()
		status, body := get(t, srv.URL+path)
		if status != 200 {
			t.Fatalf("GET %s: %d\n%.2000s", path, status, body)
		}
		return links.ReplaceAllString(main.FindString(body), "")
	}
	for _, view := range []string{"overview", "log", "usage?range=30d", "functions", "errors", "perf", "patterns?range=30d", "object?kind=query&id=q-3"} {
		sep := "?"
		if strings.Contains(view, "?") {
			sep = "&"
		}
		all := content("/audit/" + view)
		for _, filter := range []string{"user=user01", "group=ops", "level=error"} {
			if got := content("/audit/" + view + sep + filter); got == all {
				t.Errorf("%s: the content is the same with %s as without", view, filter)
			}
		}
	}

	// The functions and usage views count the calls of the user only.
	calls := func(path string) int {
		t.Helper()
		_, body := get(t, srv.URL+path)
		m := regexp.MustCompile(`data-function="Sum"><td>.*?</td><td class="num"><data value="(\d+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("GET %s: no calls of Sum in\n%.2000s", path, body)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	want := 0
	for _, e := range events {
		if e.Type == audit.TypeFunctionCall && e.Message == "Sum" && e.UserID == "user01" && !e.Time.Before(now.Add(-7*24*time.Hour)) {
			want++
		}
	}
	all := calls("/audit/functions")
	if got := calls("/audit/functions?user=user01"); got != want || got >= all {
		t.Errorf("functions?user=user01: %d calls of Sum, want %d (of %d by everyone)", got, want, all)
	}
	if got := calls("/audit/usage?user=user01"); got != want {
		t.Errorf("usage?user=user01: %d calls of Sum, want the user's %d", got, want)
	}
}
