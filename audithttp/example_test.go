package audithttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/audithttp"
	"github.com/auditkit/audit/store/memory"
)

func ExampleMiddleware() {
	st := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: st, Sync: true})
	defer logger.Close(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		// The request context carries the attribution.
		_ = logger.For(r.Context()).Audit("order viewed", map[string]any{"order": audit.Ref("order", r.PathValue("id"))})
		fmt.Fprintln(w, "order", r.PathValue("id"))
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var o *struct{ ID string }
		fmt.Fprintln(w, o.ID) // panics: nil pointer dereference
	})
	handler := audithttp.Middleware(logger, &audithttp.Options{
		Subject: func(r *http.Request) audit.Subject {
			// In a real service: the user and session of the app's own auth.
			return audit.Subject{UserID: r.Header.Get("X-User"), SessionID: "s1"}
		},
	})(mux)

	for _, req := range []*http.Request{
		httptest.NewRequest("GET", "/orders/42", nil),
		httptest.NewRequest("POST", "/orders", nil),
	} {
		req.Header.Set("X-User", "ann")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println(req.Method, req.URL.Path, rec.Code)
	}

	// Request events are timed from the request's arrival, so they come
	// before the events of their handlers.
	page, _ := st.Read(context.Background(), audit.Query{})
	for i := len(page.Events) - 1; i >= 0; i-- {
		e := page.Events[i]
		route, _ := e.Param("route")
		status, _ := e.Param("status")
		fmt.Printf("%s %s user=%s session=%s %q route=%s status=%s\n", e.Level, e.Type, e.UserID, e.SessionID, e.Message, route, status)
	}
	// Output:
	// GET /orders/42 200
	// POST /orders 500
	// usage http-request user=ann session=s1 "GET /orders/{id}" route=GET /orders/{id} status=200
	// audit log user=ann session=s1 "order viewed" route=null status=null
	// usage http-request user=ann session=s1 "POST /orders" route=POST /orders status=500
	// error error user=ann session=s1 "panic: runtime error: invalid memory address or nil pointer dereference" route=POST /orders status=null
}

// Behind a load balancer, the client's address comes from X-Forwarded-For,
// believed only from the balancer's own network; the request id is echoed.
func ExampleMiddleware_proxies() {
	st := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: st, Sync: true, Callback: audithttp.RequestParams})
	defer logger.Close(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("POST /invoices/{id}/approve", func(w http.ResponseWriter, r *http.Request) {
		_ = logger.LogEvent(r.Context(), audit.Event{Level: audit.LevelAudit, Message: "invoice approved"})
	})
	handler := audithttp.Middleware(logger, &audithttp.Options{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})(mux)

	req := httptest.NewRequest("POST", "/invoices/7/approve", nil)
	req.RemoteAddr = "10.1.2.3:41000"                               // the balancer
	req.Header.Set("X-Forwarded-For", "203.0.113.9, 198.51.100.23") // the left one is the client's own claim
	req.Header.Set("X-Request-Id", "req-8f2c")
	req.Header.Set("User-Agent", "billing-ui/2.1")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println("echoed:", rec.Header().Get("X-Request-Id"))

	page, _ := st.Read(context.Background(), audit.Query{})
	for i := len(page.Events) - 1; i >= 0; i-- {
		e := page.Events[i]
		ip, _ := e.Param("client_ip")
		id, _ := e.Param("request_id")
		ua, _ := e.Param("user_agent")
		fmt.Printf("%q client_ip=%s request_id=%s user_agent=%s\n", e.Message, ip, id, ua)
	}
	// Output:
	// echoed: req-8f2c
	// "POST /invoices/{id}/approve" client_ip=198.51.100.23 request_id=req-8f2c user_agent=billing-ui/2.1
	// "invoice approved" client_ip=198.51.100.23 request_id=req-8f2c user_agent=null
}
