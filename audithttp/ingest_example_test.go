package audithttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/audithttp"
	"github.com/auditkit/audit/store/memory"
)

func ExampleIngest() {
	store := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: store, Sync: true})
	defer logger.Close(context.Background())

	ingest, err := audithttp.Ingest(logger, &audithttp.IngestOptions{
		// Who is signed in, as the service's own authentication says.
		Subject: func(r *http.Request) audit.Subject {
			return audit.Subject{UserID: "alice", SessionID: "s-42"}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("POST /audit/ingest", ingest)
	mux.Handle("GET /audit.js", audithttp.Client())

	// What audit.js posts for logger.usage('menu item clicked', {item: 'File | Open'}, 'main-menu-item-click').
	body := `[{"level":"usage","message":"menu item clicked","type":"main-menu-item-click","params":{"item":"File | Open"}}]`
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("POST", "/audit/ingest", strings.NewReader(body)))
	fmt.Print(rec.Code, " ", rec.Body.String())

	page, _ := store.Read(context.Background(), audit.Query{})
	for _, e := range page.Events {
		item, _ := e.Param("item")
		fmt.Println(e.UserID, e.SessionID, e.Level, e.Type, item)
	}
	// Output:
	// 200 {"accepted":1}
	// alice s-42 usage main-menu-item-click File | Open
}
