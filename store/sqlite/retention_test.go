package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditkit/audit/store/sqlite"
	"github.com/auditkit/audit/store/storetest"
)

func TestRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	s := openStore(t, path, sqlite.Options{Now: func() time.Time { return storetest.RetentionNow }})
	var mode int
	if err := s.DB().GetContext(context.Background(), &mode, "PRAGMA auto_vacuum"); err != nil || mode != 2 {
		t.Fatalf("auto_vacuum of a new file = %d (%v), want 2 (incremental)", mode, err)
	}
	storetest.Retention(t, s, s.Retain)
	// The freed pages went back to the file system.
	var free int
	if err := s.DB().GetContext(context.Background(), &free, "PRAGMA freelist_count"); err != nil {
		t.Fatal(err)
	}
	if free > 100 {
		t.Errorf("%d free pages left after retention", free)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}
