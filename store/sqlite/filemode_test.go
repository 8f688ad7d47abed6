//go:build unix

package sqlite_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/store/sqlite"
	"github.com/auditkit/audit/store/storetest"
)

// TestFileMode opens new files under an empty umask, which would let
// SQLite's own default (0644) through: the database and its -wal and -shm
// files are 0600, or Options.FileMode; an existing file keeps its mode. Not
// parallel: the umask belongs to the process.
func TestFileMode(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		mode fs.FileMode
		want fs.FileMode
	}{{"default", 0, 0o600}, {"option", 0o640, 0o640}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.db")
			s, err := sqlite.Open(ctx, path, sqlite.Options{FileMode: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(ctx)
			if err := s.Write(ctx, []audit.Event{storetest.NewEvent("query-start", audit.String("k", "v"))}); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(name)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != tc.want {
					t.Errorf("%s: mode %v, want %v", filepath.Base(name), got, tc.want)
				}
			}
		})
	}
	t.Run("existing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.db")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(ctx)
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("existing file: %v, %v; want its mode 0644 kept", fi.Mode(), err)
		}
	})
	if _, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"), sqlite.Options{FileMode: fs.ModeDir | 0o600}); err == nil {
		t.Error("Open with FileMode ModeDir|0600: nil error, want ErrInvalidOptions")
	}
}
