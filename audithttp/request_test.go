package audithttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/audithttp"
	"github.com/auditkit/audit/store/memory"
)

// recorder serves requests through the middleware in memory, so tests set
// RemoteAddr and headers as a proxy would.
type recorder struct {
	store   *memory.Store
	handler http.Handler
	seen    []seen // what handlers saw, one per request
}

type seen struct {
	requestID string
	clientIP  string
}

func newRecorder(t *testing.T, opts *audithttp.Options, cb audit.Callback) *recorder {
	t.Helper()
	rec := &recorder{store: memory.New(memory.Options{})}
	logger, err := audit.New(audit.Options{Store: rec.store, Sync: true, Callback: cb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logger.Close(context.Background()) })
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := seen{requestID: audithttp.RequestID(r.Context())}
		if ip, ok := audithttp.ClientIP(r.Context()); ok {
			s.clientIP = ip.String()
		}
		rec.seen = append(rec.seen, s)
		_ = logger.LogEvent(r.Context(), audit.Event{Level: audit.LevelAudit, Type: "inner", Message: "inside"})
	})
	rec.handler = audithttp.Middleware(logger, opts)(mux)
	return rec
}

// serve runs one request and returns its response and request event.
func (rec *recorder) serve(t *testing.T, r *http.Request) (*httptest.ResponseRecorder, audit.Event) {
	t.Helper()
	w := httptest.NewRecorder()
	rec.handler.ServeHTTP(w, r)
	p, err := rec.store.Read(context.Background(), audit.Query{Types: []string{audit.TypeHTTPRequest}, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) == 0 {
		t.Fatal("no request event")
	}
	return w, p.Events[0]
}

func paramOf(e audit.Event, key string) string {
	v, ok := e.Param(key)
	if !ok {
		return "<none>"
	}
	return v.String()
}

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	cases := []struct {
		name    string
		opts    audithttp.Options
		remote  string
		headers map[string][]string
		want    string
	}{
		{"no trusted proxies: header ignored", audithttp.Options{}, "10.0.0.1:5000",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4"}}, "10.0.0.1"},
		{"peer not trusted: header ignored", audithttp.Options{TrustedProxies: proxies}, "8.8.8.8:5000",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4"}}, "8.8.8.8"},
		{"trusted peer", audithttp.Options{TrustedProxies: proxies}, "10.0.0.1:5000",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4"}}, "1.2.3.4"},
		{"spoofed left entries skipped", audithttp.Options{TrustedProxies: proxies}, "10.0.0.1:5000",
			map[string][]string{"X-Forwarded-For": {"6.6.6.6, 1.2.3.4, 10.0.0.2"}}, "1.2.3.4"},
		{"several header lines", audithttp.Options{TrustedProxies: proxies}, "10.0.0.1:5000",
			map[string][]string{"X-Forwarded-For": {"1.1.1.1", "2.2.2.2"}}, "2.2.2.2"},
		{"all hops trusted: leftmost", audithttp.Options{TrustedProxies: proxies}, "10.0.0.1:5000",
			map[string][]string{"X-Forwarded-For": {"10.0.0.3, 10.0.0.2"}}, "10.0.0.3"},
		{"garbage stops at the proxy that wrote it", audithttp.Options{TrustedProxies: proxies}, "10.0.0.1:5000",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, garbage, 10.0.0.2"}}, "10.0.0.2"},
		{"empty header", audithttp.Options{TrustedProxies: proxies}, "10.0.0.1:5000",
			map[string][]string{"X-Forwarded-For": {""}}, "10.0.0.1"},
		{"ports and mapped IPv6", audithttp.Options{TrustedProxies: proxies}, "[::ffff:10.0.0.1]:80",
			map[string][]string{"X-Forwarded-For": {"[2001:db8::1]:4711"}}, "2001:db8::1"},
		{"IPv6 proxy", audithttp.Options{TrustedProxies: proxies}, "[2001:db8:ffff::9]:443",
			map[string][]string{"X-Forwarded-For": {"192.0.2.7"}}, "192.0.2.7"},
		{"Forwarded", audithttp.Options{TrustedProxies: proxies, ForwardedHeader: "Forwarded"}, "10.0.0.1:5000",
			map[string][]string{"Forwarded": {`for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"Forwarded configured: X-Forwarded-For ignored", audithttp.Options{TrustedProxies: proxies, ForwardedHeader: "Forwarded"}, "10.0.0.1:5000",
			map[string][]string{"Forwarded": {"for=1.2.3.4"}, "X-Forwarded-For": {"9.9.9.9"}}, "1.2.3.4"},
		{"X-Forwarded-For configured: Forwarded ignored", audithttp.Options{TrustedProxies: proxies}, "10.0.0.1:5000",
			map[string][]string{"Forwarded": {"for=1.2.3.4"}, "X-Forwarded-For": {"9.9.9.9"}}, "9.9.9.9"},
		{"Forwarded unknown", audithttp.Options{TrustedProxies: proxies, ForwardedHeader: "Forwarded"}, "10.0.0.1:5000",
			map[string][]string{"Forwarded": {"for=unknown"}}, "10.0.0.1"},
		{"Forwarded without for", audithttp.Options{TrustedProxies: proxies, ForwardedHeader: "Forwarded"}, "10.0.0.1:5000",
			map[string][]string{"Forwarded": {"for=1.2.3.4, proto=https"}}, "10.0.0.1"},
		{"hostile header", audithttp.Options{TrustedProxies: proxies}, "10.0.0.1:5000",
			map[string][]string{"X-Forwarded-For": {"\x00\xff" + strings.Repeat(",", 10000)}}, "10.0.0.1"},
		{"single trusted address", audithttp.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.168.1.1/32")}}, "192.168.1.1:80",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4"}}, "1.2.3.4"},
		{"unparsable peer", audithttp.Options{TrustedProxies: proxies}, "@pipe",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4"}}, "<none>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := newRecorder(t, &c.opts, nil)
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			for k, vs := range c.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			_, e := rec.serve(t, r)
			if got := paramOf(e, audithttp.ClientIPParam); got != c.want {
				t.Errorf("client_ip = %s, want %s", got, c.want)
			}
			want := c.want
			if want == "<none>" {
				want = ""
			}
			if got := rec.seen[0].clientIP; got != want {
				t.Errorf("ClientIP in the handler = %q, want %q", got, want)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	rec := newRecorder(t, nil, nil)

	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Request-Id", "abc-123")
	w, e := rec.serve(t, r)
	if got := w.Header().Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("echoed id %q", got)
	}
	if got := paramOf(e, audithttp.RequestIDParam); got != "abc-123" || rec.seen[0].requestID != "abc-123" {
		t.Errorf("recorded id %q, handler saw %q", got, rec.seen[0].requestID)
	}

	for i, incoming := range []string{"", "has space", strings.Repeat("x", 129), "ünïcode", "nul\x00"} {
		r := httptest.NewRequest("GET", "/", nil)
		if incoming != "" {
			r.Header["X-Request-Id"] = []string{incoming}
		}
		w, e := rec.serve(t, r)
		id := w.Header().Get("X-Request-Id")
		if _, err := uuid.Parse(id); err != nil || id == incoming {
			t.Errorf("%q: echoed id %q, want a new UUID", incoming, id)
		}
		if got := paramOf(e, audithttp.RequestIDParam); got != id || rec.seen[i+1].requestID != id {
			t.Errorf("%q: recorded %q, handler saw %q, echoed %q", incoming, got, rec.seen[i+1].requestID, id)
		}
	}

	custom := newRecorder(t, &audithttp.Options{RequestIDHeader: "X-Correlation-Id"}, nil)
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Correlation-Id", "corr-1")
	r.Header.Set("X-Request-Id", "ignored")
	w, e = custom.serve(t, r)
	if w.Header().Get("X-Correlation-Id") != "corr-1" || paramOf(e, audithttp.RequestIDParam) != "corr-1" || w.Header().Get("X-Request-Id") != "" {
		t.Errorf("custom header: echoed %q, recorded %s, X-Request-Id %q", w.Header().Get("X-Correlation-Id"), paramOf(e, audithttp.RequestIDParam), w.Header().Get("X-Request-Id"))
	}
}

func TestUserAgentParamsAndCallback(t *testing.T) {
	rec := newRecorder(t, &audithttp.Options{
		Params: func(r *http.Request) []audit.Param {
			return []audit.Param{
				{Key: "tenant", Value: audit.StringValue(r.Header.Get("X-Tenant"))},
				{Key: audithttp.StatusParam, Value: audit.StringValue("overridden")},
			}
		},
	}, audithttp.RequestParams)
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	r.Header.Set("User-Agent", "curl/8.0")
	r.Header.Set("X-Tenant", "acme")
	_, e := rec.serve(t, r)
	if paramOf(e, audithttp.UserAgentParam) != "curl/8.0" || paramOf(e, "tenant") != "acme" || paramOf(e, audithttp.StatusParam) != "overridden" {
		t.Errorf("request event params: %v", e.Params)
	}
	p, err := rec.store.Read(context.Background(), audit.Query{Types: []string{"inner"}})
	if err != nil || len(p.Events) != 1 {
		t.Fatalf("inner events %v, %v", p.Events, err)
	}
	inner := p.Events[0]
	if paramOf(inner, audithttp.RequestIDParam) != paramOf(e, audithttp.RequestIDParam) || paramOf(inner, audithttp.ClientIPParam) != "192.0.2.1" {
		t.Errorf("the handler's event has request_id %s client_ip %s; the request's %s",
			paramOf(inner, audithttp.RequestIDParam), paramOf(inner, audithttp.ClientIPParam), paramOf(e, audithttp.RequestIDParam))
	}

	// Without a user agent there is no param; outside a request the
	// callback adds nothing.
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Del("User-Agent")
	if _, e := rec.serve(t, r); paramOf(e, audithttp.UserAgentParam) != "<none>" {
		t.Errorf("user_agent %s without the header", paramOf(e, audithttp.UserAgentParam))
	}
	var out audit.Event
	audithttp.RequestParams(context.Background(), &out)
	if len(out.Params) != 0 {
		t.Errorf("RequestParams outside a request added %v", out.Params)
	}
}

// TestChi: with chi, the middleware goes inside the router (router.Use), and
// the route is chi's pattern.
func TestChi(t *testing.T) {
	st := memory.New(memory.Options{})
	logger, err := audit.New(audit.Options{Store: st, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logger.Close(context.Background())
	router := chi.NewRouter()
	router.Use(audithttp.Middleware(logger, &audithttp.Options{
		Route: func(r *http.Request) string { return chi.RouteContext(r.Context()).RoutePattern() },
	}))
	router.Get("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(chi.URLParam(r, "id")))
	})
	router.Route("/admin", func(r chi.Router) {
		r.Delete("/users/{user}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	})
	for _, path := range []string{"GET /items/42", "DELETE /admin/users/7", "GET /nowhere"} {
		m, p, _ := strings.Cut(path, " ")
		router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, p, nil))
	}
	page, err := st.Read(context.Background(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(page.Events) - 1; i >= 0; i-- {
		e := page.Events[i]
		got = append(got, e.Message+" "+paramOf(e, audithttp.RouteParam)+" "+paramOf(e, audithttp.StatusParam))
	}
	want := []string{
		"GET /items/{id} /items/{id} 200",
		"DELETE /admin/users/{user} /admin/users/{user} 204",
		"GET (no route)  404",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
