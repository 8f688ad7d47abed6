package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/store/memory"
)

// TestHashMatchesRedaction logs a password through a Logger with an HMAC
// key and finds the stored value with auditctl hash, by key file, by
// environment and by stdin.
func TestHashMatchesRedaction(t *testing.T) {
	key := []byte("k3y with spaces\n")
	st := memory.New(memory.Options{})
	l, err := audit.New(audit.Options{Store: st, Redact: audit.Redact{HMACKey: key}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Log("login", audit.String("password", "hunter2")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	page, err := st.Read(context.Background(), audit.Query{})
	if err != nil || len(page.Events) != 1 || len(page.Events[0].Params) != 1 {
		t.Fatalf("stored %+v, %v", page, err)
	}
	stored := page.Events[0].Params[0].Value.String()
	if !strings.HasPrefix(stored, audit.HMACPrefix) {
		t.Fatalf("stored password = %q, want an HMAC", stored)
	}

	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]result{
		"key file": auditctl(t, nil, "hash", "--key-file", keyFile, "hunter2"),
		"env":      auditctl(t, map[string]string{envHMACKey: string(key)}, "hash", "hunter2"),
		"stdin":    auditctlIn(t, context.Background(), map[string]string{envHMACKey: string(key)}, "hunter2\n", "hash"),
	} {
		if got := strings.TrimSpace(r.ok(t)); got != stored {
			t.Errorf("%s: auditctl hash = %q, want the stored %q", name, got, stored)
		}
	}
	if got := strings.TrimSpace(auditctl(t, nil, "hash", "--key-file", keyFile, "hunter3").ok(t)); got == stored {
		t.Errorf("another value hashes to the same text")
	}
	if r := auditctl(t, nil, "hash", "hunter2"); r.code != exitUsage || !strings.Contains(r.stderr, envHMACKey) {
		t.Errorf("no key: exit %d, stderr %q; want %d naming $%s", r.code, r.stderr, exitUsage, envHMACKey)
	}
	if r := auditctl(t, nil, "hash", "--key-file", filepath.Join(t.TempDir(), "missing"), "x"); r.code != exitFailure {
		t.Errorf("missing key file: exit %d, want %d", r.code, exitFailure)
	}
}
