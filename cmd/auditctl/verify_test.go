package main

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/store/sqlite"
	"github.com/google/uuid"
)

// TestVerify checks a chained SQLite trail with a signing key and a
// checkpoint file: OK (exit 0), then with an event changed behind the
// store's back (exit 5, the event named), a wrong key and a cut tail.
func TestVerify(t *testing.T) {
	dir := t.TempDir()
	path, cps := filepath.Join(dir, "audit.db"), filepath.Join(dir, "checkpoints.jsonl")
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "pub.pem")
	der, _ := x509.MarshalPKIXPublicKey(pub)
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	hmacFile := filepath.Join(dir, "hmac")
	os.WriteFile(hmacFile, []byte("not the key"), 0o600)

	w, err := chain.NewWriter(chain.Options{Key: chain.Key{Ed25519: priv}, CheckpointFile: cps, CheckpointEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(t.Context(), path, sqlite.Options{Chain: w})
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for b := range 3 {
		batch := make([]audit.Event, 3)
		for i := range batch {
			id := uuid.Must(uuid.NewV7())
			ids = append(ids, id)
			batch[i] = audit.Event{ID: id, Time: now.Add(-time.Duration(10*b+i) * time.Minute), Level: audit.LevelAudit,
				Type: "doc-edit", Params: []audit.Param{audit.String("doc", fmt.Sprint(b, i))}}
		}
		if err := s.Write(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
	s.Close(context.Background())

	env := map[string]string{envDB: path}
	out := auditctl(t, env, "verify", "--key", pubFile, "--checkpoint", cps).ok(t)
	contains(t, "verify", out, "OK: 1 writers, 3 records (3 signatures checked), 9 events checked")
	if r := auditctl(t, env, "verify", "--key", hmacFile); r.code != exitTampered {
		t.Errorf("wrong key: exit %d, want %d; %s", r.code, exitTampered, r.stdout)
	} else {
		contains(t, "wrong key", r.stdout, "bad-signature", "seq 1")
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec("UPDATE event_parameter_values SET value = 'x' WHERE event_id = ?", ids[4][:])
	exec("DELETE FROM events WHERE digest_id = (SELECT id FROM chain_digests WHERE seq = 3)")
	exec("DELETE FROM chain_digests WHERE seq = 3")
	r := auditctl(t, env, "verify", "--checkpoint", cps)
	if r.code != exitTampered {
		t.Fatalf("exit %d, want %d; %s%s", r.code, exitTampered, r.stdout, r.stderr)
	}
	contains(t, "tampered", r.stdout, "modified writer "+w.ID()+" seq 2 event "+ids[4].String(),
		"truncated writer "+w.ID()+" seq 3", "FAILED: 2 problems")
	if r := auditctl(t, env, "verify", "--key", filepath.Join(dir, "missing")); r.code != exitUsage {
		t.Errorf("missing key file: exit %d, want %d", r.code, exitUsage)
	}
}
