package audit_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/sqlite"
)

// The crash test's child process reads its setting from this variable:
// "store|dir|dsn|schema|up" (store is sqlite or postgres; up is "up" or
// "down").
const crashEnv = "AUDIT_CRASH_CHILD"

// TestCrashChild is the child process of TestCrashSpool: it logs events
// with the spool until it is killed, printing the ID of every event whose
// LogEvent returned nil. It does nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	setting := os.Getenv(crashEnv)
	if setting == "" {
		t.Skip("run by TestCrashSpool")
	}
	f := strings.Split(setting, "|")
	kind, dir, dsn, schema, up := f[0], f[1], f[2], f[3], f[4] == "up"
	var store audit.Store = downStore{}
	if up {
		store = openCrashStore(t, kind, dir, dsn, schema)
	}
	l, err := audit.New(audit.Options{Store: store, Spool: &audit.SpoolOptions{Dir: filepath.Join(dir, "spool")},
		ErrorHandler: func(err error) { fmt.Fprintln(os.Stderr, err) }})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := uuid.Must(uuid.NewV7())
				err := l.LogEvent(context.Background(), audit.Event{ID: id, Level: audit.LevelAudit, Message: "crash",
					Params: []audit.Param{audit.P("g", g), audit.P("i", i)}})
				if err != nil {
					continue
				}
				// One write(2) per line, unbuffered: a line printed is
				// with the parent before the kill can come.
				mu.Lock()
				fmt.Fprintln(os.Stdout, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait() // never: the parent kills the process
}

// downStore is a store that is unreachable.
type downStore struct{}

func (downStore) Write(context.Context, []audit.Event) error {
	return fmt.Errorf("%w: the store is down", audit.ErrUnavailable)
}

func openCrashStore(t *testing.T, kind, dir, dsn, schema string) audit.Store {
	ctx := context.Background()
	var s interface {
		audit.Store
		audit.Closer
	}
	var err error
	switch kind {
	case "sqlite":
		s, err = sqlite.Open(ctx, filepath.Join(dir, "audit.db"), sqlite.Options{})
	default:
		s, err = postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(ctx) })
	return s
}

// TestCrashSpool runs a child process that logs with the spool (default
// group-commit policy), kills it with SIGKILL at a random moment, restarts
// a Logger on the same spool, and checks that every event whose LogEvent
// returned nil is in the store exactly once; with the store up and with it
// down during the crash, on SQLite and Postgres.
func TestCrashSpool(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		for _, up := range []string{"up", "down"} {
			t.Run(kind+"/store-"+up, func(t *testing.T) {
				dir := t.TempDir()
				dsn, schema := "", ""
				if kind == "postgres" {
					dsn, schema = pgtest.DSN(t), pgtest.Schema(t)
					s, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema})
					if err != nil {
						t.Fatal(err)
					}
					if err := s.Migrate(context.Background()); err != nil {
						t.Fatal(err)
					}
					s.Close(context.Background())
				} else {
					s, err := sqlite.Open(context.Background(), filepath.Join(dir, "audit.db"), sqlite.Options{})
					if err != nil {
						t.Fatal(err)
					}
					s.Close(context.Background())
				}
				accepted := runAndKill(t, exe, strings.Join([]string{kind, dir, dsn, schema, up}, "|"))
				if len(accepted) < 100 {
					t.Fatalf("the child logged only %d events before it was killed", len(accepted))
				}
				store := openCrashStore(t, kind, dir, dsn, schema)
				before := len(storedIDs(t, store))
				errs := &audittest.ErrorLog{}
				l, err := audit.New(audit.Options{Store: store, Spool: &audit.SpoolOptions{Dir: filepath.Join(dir, "spool")}, ErrorHandler: errs.Add})
				if err != nil {
					t.Fatal(err)
				}
				if err := l.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
				stored := storedIDs(t, store)
				missing := 0
				for _, id := range accepted {
					if stored[id] != 1 {
						missing++
					}
				}
				if missing > 0 {
					t.Errorf("%d of %d accepted events are not in the store exactly once; errors %v", missing, len(accepted), head(errs.Errors()))
				}
				t.Logf("%d events accepted before SIGKILL, %d stored before the restart, %d after (%d replayed)", len(accepted), before, len(stored), l.Stats().Written)
			})
		}
	}
}

// runAndKill starts the child, kills it with SIGKILL after a random number
// of accepted events, and returns the IDs it printed.
func runAndKill(t *testing.T, exe, setting string) []uuid.UUID {
	cmd := exec.Command(exe, "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+setting)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killAt := 10_000 + rand.IntN(100_000)
	if raceEnabled { // the race detector slows the child and the replay about tenfold
		killAt = 2_000 + rand.IntN(20_000)
	}
	var ids []uuid.UUID
	sc := bufio.NewScanner(stdout)
	killed := false
	timeout := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timeout.Stop()
	for sc.Scan() {
		id, err := uuid.Parse(sc.Text())
		if err != nil {
			continue // a line cut by the kill
		}
		ids = append(ids, id)
		if len(ids) == killAt && !killed {
			killed = true
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !killed || !errors.As(err, &exit) {
		t.Fatalf("child ended without being killed (%v): %s", err, stderr.String())
	}
	return ids
}

// storedIDs counts each event ID in the store.
func storedIDs(t *testing.T, s audit.Store) map[uuid.UUID]int {
	t.Helper()
	out := map[uuid.UUID]int{}
	q := audit.Query{Limit: audit.MaxLimit}
	for {
		page, err := s.(audit.Reader).Read(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			out[e.ID]++
		}
		if page.Next == "" {
			return out
		}
		q.After = page.Next
	}
}
