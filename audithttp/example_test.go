package audithttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

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
