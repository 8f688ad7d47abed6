package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/store/sqlite"
	"github.com/auditkit/audit/store/storetest"
	"github.com/google/uuid"
)

func TestRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	s := openStore(t, path, sqlite.Options{Now: func() time.Time { return storetest.RetentionNow }})
	var mode int
	if err := s.DB().GetContext(context.Background(), &mode, "PRAGMA auto_vacuum"); err != nil || mode != 2 {
		t.Fatalf("auto_vacuum of a new file = %d (%v), want 2 (incremental)", mode, err)
	}
	storetest.Retention(t, s, s.Retain, retentionEvents, retentionMaxWait)
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

// TestRetentionInterval runs retention in the background until Close.
func TestRetentionInterval(t *testing.T) {
	ctx := context.Background()
	errs := make(chan error, 10)
	s := openStore(t, filepath.Join(t.TempDir(), "audit.db"), sqlite.Options{
		Now:               func() time.Time { return storetest.RetentionNow },
		RetentionInterval: 10 * time.Millisecond,
		OnRetentionError:  func(err error) { errs <- err },
	})
	old := audit.Event{ID: uuid.Must(uuid.NewV7()), Time: storetest.RetentionNow.Add(-40 * audit.Day), Level: audit.LevelDebug, Type: "t"}
	kept := audit.Event{ID: uuid.Must(uuid.NewV7()), Time: storetest.RetentionNow.Add(-20 * audit.Day), Level: audit.LevelDebug, Type: "t"}
	if err := s.Write(ctx, []audit.Event{old, kept}); err != nil {
		t.Fatal(err)
	}
	audittest.Eventually(t, "the expired event deleted", func() bool { return len(audittest.Stored(t, s)) == 1 })
	if got := audittest.Stored(t, s); got[0].ID != kept.ID {
		t.Errorf("left %v, want the event of 20 days ago", got[0].ID)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		t.Errorf("background retention: %v", err)
	default:
	}
}
