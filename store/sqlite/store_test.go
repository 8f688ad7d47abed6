package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/store/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newStore returns a store on a new file in a temporary directory.
func newStore(t testing.TB) *sqlite.Store {
	t.Helper()
	return openStore(t, filepath.Join(t.TempDir(), "audit.db"), sqlite.Options{})
}

func openStore(t testing.TB, path string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func event(i int, params ...audit.Param) audit.Event {
	return audit.Event{
		ID:      uuid.Must(uuid.NewV7()),
		Time:    base.Add(time.Duration(i) * time.Second),
		Level:   audit.LevelAudit,
		Type:    datagrok.QueryStart,
		Message: fmt.Sprintf("event %d", i),
		Params:  params,
	}
}

// batch returns n events of one writer, each with 3 params and one of 3
// sessions.
func batch(writer string, start, n int) []audit.Event {
	out := make([]audit.Event, n)
	for i := range out {
		e := event(start+i,
			audit.P("query", audit.Ref("query", fmt.Sprintf("q%d", i%7))),
			audit.P("rows", i),
			audit.P("writer", writer))
		e.UserID = writer
		e.SessionID = fmt.Sprintf("%s-s%d", writer, i%3)
		out[i] = e
	}
	return out
}

var logged = map[string]string{
	"events":      " WHERE coalesce(comment, '') <> 'synthetic'",
	"event_types": " WHERE friendly_name <> 'datagrok-started'",
}

// count counts the rows of table that the logger wrote: the store's own
// datagrok-started events (and their event type) are left out.
func count(t testing.TB, s *sqlite.Store, table string) int {
	t.Helper()
	var n int
	if err := s.DB().Get(&n, "SELECT count(*) FROM "+table+logged[table]); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestConcurrentWritersAndReaders writes from many goroutines through the
// one writer connection while others read, and expects no error at all.
func TestConcurrentWritersAndReaders(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	const writers, batches, per = 8, 10, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches+100)
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				if err := s.Write(ctx, batch(fmt.Sprintf("w%d", w), b*per, per)); err != nil {
					errs <- err
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Read(ctx, audit.Query{Object: &audit.Entity{Kind: "query", ID: "q3"}, Limit: 50}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := count(t, s, "events"); n != writers*batches*per {
		t.Errorf("events: %d rows, want %d", n, writers*batches*per)
	}
	if n := count(t, s, "event_parameter_values"); n != 3*writers*batches*per {
		t.Errorf("event_parameter_values: %d rows, want %d", n, 3*writers*batches*per)
	}
	if n := count(t, s, "users_sessions"); n != 3*writers {
		t.Errorf("users_sessions: %d rows, want %d", n, 3*writers)
	}
}

// helperEnv names the file a helper process writes to.
const helperEnv = "AUDIT_SQLITE_HELPER_DB"

// TestHelperProcess is not a test: TestProcesses runs the test binary again
// with only this function, to write the same file from another process.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("runs only as the helper of TestProcesses")
	}
	writeAsProcess(t, path, os.Getenv(helperEnv+"_NAME"))
}

// writeAsProcess opens path (maybe creating it and racing to migrate it),
// logs its share of events through an audit.Logger, reading meanwhile, then
// writes its first batch again straight to the store. Every write must
// succeed at the first attempt: a busy database must never surface as an
// error, not even one the Logger would retry.
func writeAsProcess(t *testing.T, path, name string) {
	ctx := context.Background()
	// The test checks correctness, not speed: on a loaded machine (or
	// under the race detector) a write may wait long for another process's
	// lock, so the timeouts are a minute.
	s, err := sqlite.Open(ctx, path, sqlite.Options{BusyTimeout: time.Minute})
	if err != nil {
		t.Fatalf("%s: open: %v", name, err)
	}
	defer s.Close(ctx)
	var errs []error
	var mu sync.Mutex
	l, err := audit.New(audit.Options{Store: s, BatchSize: procPer, WriteTimeout: time.Minute, ErrorHandler: func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	var first []audit.Event
	for b := range procBatches {
		events := batch(name, b*procPer, procPer)
		if b == 0 {
			first = events
		}
		for _, e := range events {
			if err := l.LogEvent(ctx, e); err != nil {
				t.Fatalf("%s: log: %v", name, err)
			}
		}
		if _, err := s.Read(ctx, audit.Query{UserIDs: []string{name}, Limit: 10}); err != nil {
			t.Fatalf("%s: read: %v", name, err)
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatalf("%s: close logger: %v", name, err)
	}
	st := l.Stats()
	if st.Written != procBatches*procPer || st.Retried != 0 || st.Failed != 0 || len(errs) != 0 {
		t.Fatalf("%s: logger stats %+v, errors %v", name, st, errs)
	}
	if err := s.Write(ctx, first); err != nil {
		t.Fatalf("%s: write again: %v", name, err)
	}
}

const procBatches, procPer = 20, 100

// TestProcesses has other processes create, migrate and write the same new
// file at the same time as this one: none may see an error, and every event
// is stored once.
func TestProcesses(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	const procs = 3
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+path, fmt.Sprintf("%s_NAME=p%d", helperEnv, i))
		out := new(strings.Builder)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		outs = append(outs, out)
	}
	writeAsProcess(t, path, "parent")
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper p%d: %v\n%s", i, err, outs[i])
		}
	}
	s := openStore(t, path, sqlite.Options{})
	want := (procs + 1) * procBatches * procPer
	if n := count(t, s, "events"); n != want {
		t.Errorf("events: %d rows, want %d", n, want)
	}
	if n := count(t, s, "event_parameter_values"); n != 3*want {
		t.Errorf("event_parameter_values: %d rows, want %d", n, 3*want)
	}
	if n := count(t, s, "audit_migrations"); n != len(sqlite.Migrations()) {
		t.Errorf("audit_migrations: %d rows, want %d", n, len(sqlite.Migrations()))
	}
	// One registry row per key, whichever process made it.
	if n := count(t, s, "event_types"); n != 1 {
		t.Errorf("event_types: %d rows, want 1", n)
	}
	if n := count(t, s, "event_parameters"); n != 3 {
		t.Errorf("event_parameters: %d rows, want 3", n)
	}
}
