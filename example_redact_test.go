package audit_test

import (
	"context"
	"fmt"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/store/memory"
)

// Secrets are redacted before any destination sees them: by key (password
// here, by default) and by value (Secret). With an HMAC key, equal values
// still correlate, and `auditctl hash --key-file F VALUE` prints the text
// to search for.
func ExampleRedact() {
	ctx := context.Background()
	store := memory.New(memory.Options{})
	logger, err := audit.New(audit.Options{
		Store:  store,
		Redact: audit.Redact{HMACKey: []byte("keep me in a secret manager")},
	})
	if err != nil {
		panic(err)
	}
	logger.Log("login", audit.String("user", "alice"), audit.String("password", "hunter2"),
		map[string]any{
			"card":    audit.Secret("4111 1111 1111 1111"),
			"headers": map[string]any{"Authorization": "Bearer hunter2"},
		})
	if err := logger.Close(ctx); err != nil {
		panic(err)
	}
	page, _ := store.Read(ctx, audit.Query{})
	for _, p := range page.Events[0].Params {
		fmt.Printf("%s = %s\n", p.Key, p.Value)
	}
	// Output:
	// card = hmac-sha256:5454747b03badcdd63b49183518f9386332a404ed240d48c1e27f41e5834a399
	// headers = {"Authorization":"hmac-sha256:d4083d97850cc278acdc2c9927813f63b0630e2ba1bfe1424497b4dc9fb4bec3"}
	// password = hmac-sha256:6d3071ed2b4492c39bb06ddf2902b3c4102c04769724e764485b1f269c215248
	// user = alice
}
