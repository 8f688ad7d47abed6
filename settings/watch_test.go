package settings_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/settings"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	// Write then rename, as editors and config managers do, so the watcher
	// never reads half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	writeFile(t, path, `{"rules": [{"scope": "everyone", "preset": "standard"}]}`)
	e := newEngine(t, settings.Config{}, nil)
	rec := &recorder{}
	l, err := audit.New(audit.Options{Store: rec, Sync: true, Policy: e})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	var errs audittest.ErrorLog
	w, err := settings.Watch(e, path, settings.WatchOptions{Interval: 5 * time.Millisecond, OnError: errs.Add, Logger: l})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	b := e.Bind(audit.Subject{UserID: "alice"})
	debug := func() audit.Route { return b.Route(audit.LevelDebug, "") }
	if debug() != none {
		t.Fatalf("debug logged under standard")
	}

	writeFile(t, path, `{"rules": [{"scope": "user", "id": "alice", "preset": "verbose"}]}`)
	audittest.Eventually(t, "the new file to apply", func() bool { return debug() == se })

	// A broken update is reported once, and the last good policy stays.
	writeFile(t, path, `{"rules": [{"scope": "user", "id": "alice", "preset": "verbose", "expires": "soon"}]}`)
	audittest.Eventually(t, "the broken file to be reported", func() bool { return len(errs.Errors()) == 1 })
	time.Sleep(30 * time.Millisecond) // several more polls of the same broken file
	if got := errs.Errors(); len(got) != 1 || !errors.Is(got[0], settings.ErrInvalidPolicy) || !strings.Contains(got[0].Error(), "rules[0].expires") {
		t.Fatalf("errors = %v, want one naming rules[0].expires", got)
	}
	if debug() != se {
		t.Fatal("a broken update changed the policy in force")
	}

	// A missing file too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	audittest.Eventually(t, "the missing file to be reported", func() bool { return len(errs.Errors()) == 2 })
	if got := errs.Errors()[1]; !errors.Is(got, os.ErrNotExist) {
		t.Fatalf("error = %v, want not exist", got)
	}

	writeFile(t, path, `{"version": 3, "rules": []}`)
	audittest.Eventually(t, "the fixed file to apply", func() bool { return debug() == none })
	if v := e.Policy().Version; v != 3 {
		t.Fatalf("version %d in force, want 3", v)
	}
	// The change is recorded right after it is applied.
	changes := func() int {
		n := 0
		for _, ev := range rec.all() {
			if ev.Type == datagrok.LogSettingsChanged {
				n++
			}
		}
		return n
	}
	audittest.Eventually(t, "two log-settings-changed events", func() bool { return changes() >= 2 })
	time.Sleep(20 * time.Millisecond)
	if n := changes(); n != 2 {
		t.Errorf("%d log-settings-changed events, want 2 (one per applied change after the first load)", n)
	}
}

func TestWatchFirstLoadFails(t *testing.T) {
	e := newEngine(t, settings.Config{}, nil)
	path := filepath.Join(t.TempDir(), "policy.json")
	if _, err := settings.Watch(e, path, settings.WatchOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Watch(missing) = %v", err)
	}
	writeFile(t, path, `{"rules": [{"scope": "user"}]}`)
	if _, err := settings.Watch(e, path, settings.WatchOptions{}); !errors.Is(err, settings.ErrInvalidPolicy) {
		t.Fatalf("Watch(invalid) = %v", err)
	}
	if _, err := settings.Watch(e, path, settings.WatchOptions{Interval: -time.Second}); !errors.Is(err, audit.ErrInvalidOptions) {
		t.Fatalf("Watch(Interval<0) = %v", err)
	}
}
