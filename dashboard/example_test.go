package dashboard_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/auditkit/audit/dashboard"
	"github.com/auditkit/audit/store/sqlite"
)

// Mount the dashboard under /audit/ of a service's own mux (behind the
// service's authentication, in a real service).
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "dashboard-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "audit.db"), sqlite.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close(ctx)

	h, err := dashboard.New(store, dashboard.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)
	mux := http.NewServeMux()
	mux.Handle("/audit/", http.StripPrefix("/audit", h))

	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/audit/", "/audit/log?level=error", "/audit/static/app.js"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(path, resp.Status)
	}
	// Output:
	// /audit/ 200 OK
	// /audit/log?level=error 200 OK
	// /audit/static/app.js 200 OK
}
