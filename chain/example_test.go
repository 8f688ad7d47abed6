package chain_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/store/sqlite"
)

// ExampleVerify keeps a chained trail in SQLite, with an HMAC key and a
// checkpoint file, and verifies it.
func ExampleVerify() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "chain-example")
	defer os.RemoveAll(dir)
	key := chain.Key{HMAC: []byte("keep me away from the database")}

	w, err := chain.NewWriter(chain.Options{Key: key, CheckpointEvery: 1, CheckpointFile: filepath.Join(dir, "checkpoints.jsonl")})
	if err != nil {
		panic(err)
	}
	store, err := sqlite.Open(ctx, filepath.Join(dir, "audit.db"), sqlite.Options{Chain: w})
	if err != nil {
		panic(err)
	}
	defer store.Close(ctx)
	logger, err := audit.New(audit.Options{Store: store, Sync: true})
	if err != nil {
		panic(err)
	}
	logger.Audit("edited", audit.String("doc", "d-1"))
	logger.Audit("deleted", audit.String("doc", "d-2"))
	logger.Close(ctx)

	cps, err := chain.ReadCheckpoints(filepath.Join(dir, "checkpoints.jsonl"))
	if err != nil {
		panic(err)
	}
	r, err := chain.Verify(ctx, store, chain.VerifyOptions{Key: key, Checkpoints: cps})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.OK(), r.Records, r.Events, r.Signed, len(cps))
	// Output: true 2 2 2 1
}
