package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/google/uuid"
)

// RetentionNow is the clock of the store [Retention] tests: give the store
// an Options.Now that returns it.
var RetentionNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// Retention tests a retention run of a SQL store whose clock is
// [RetentionNow] and whose retention is Datagrok's default: a corpus of n
// events spread over two years (each with two params; sessions and users,
// one of each seen only two years ago), a run with a writer adding events
// meanwhile, then exactly the expired events gone per level (counted
// against what the corpus says), their values with them, the rest intact,
// the idle session and user gone; and, when maxWait is positive, no batch
// of the concurrent writer waiting maxWait or more (a throughput property,
// which the race detector's slowdown breaks: pass 0 under -race). retain
// is the store's Retain. It returns the run's report for store-specific
// checks.
func Retention(t *testing.T, s audit.Store, retain func(ctx context.Context, dry bool) (audit.RetentionReport, error), n int, maxWait time.Duration) audit.RetentionReport {
	t.Helper()
	ctx := context.Background()
	db, err := driver.Find(s)
	if err != nil {
		t.Fatal(err)
	}
	pol := audit.DefaultRetention()
	cutoffs := pol.Cutoffs(RetentionNow)
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[audit.Level]int64{} // events kept
	events := make([]audit.Event, 0, n)
	for i := range n {
		l := audit.Levels()[i%6]
		e := audit.Event{
			ID:    uuid.Must(uuid.NewV7()),
			Time:  RetentionNow.Add(-time.Duration(rng.Int64N(int64(730 * audit.Day)))).Truncate(time.Microsecond),
			Level: l, Type: "retention-test", Message: fmt.Sprint("event ", i),
			Params:    []audit.Param{audit.P("i", i), audit.P("obj", audit.Ref("query", fmt.Sprint("q", i%100)))},
			UserID:    fmt.Sprint("u", i%20),
			SessionID: fmt.Sprint("s", i%50),
		}
		if !e.Time.Before(cutoffs[l]) {
			want[l]++
		}
		events = append(events, e)
	}
	// One session and one user seen only two years ago, at debug level.
	old := audit.Event{ID: uuid.Must(uuid.NewV7()), Time: RetentionNow.Add(-729 * audit.Day), Level: audit.LevelDebug,
		Type: "retention-test", UserID: "idle-user", SessionID: "idle-session"}
	events = append(events, old)
	for lo := 0; lo < len(events); lo += 1000 {
		if err := s.Write(ctx, events[lo:min(lo+1000, len(events))]); err != nil {
			t.Fatal(err)
		}
	}
	// The idle user's directory history (a new name, a membership that
	// left again) goes with it.
	if dir, ok := s.(audit.Directory); ok {
		for _, err := range []error{
			dir.PutUser(ctx, audit.User{ID: "idle-user", Login: "idle", FriendlyName: "Idle"}),
			dir.PutGroup(ctx, audit.Group{ID: "idle-team"}),
			dir.SetMembers(ctx, "idle-team", []string{"idle-user"}, nil),
			dir.SetMembers(ctx, "idle-team", nil, nil),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	dry, err := retain(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range audit.Levels() {
		if gone := int64(countBefore(events, l, cutoffs[l])); dry.Count(driver.TableEvents, l)-syntheticBefore(t, db, l, cutoffs[l]) != gone {
			t.Errorf("dry run: %d %s events would go (%d synthetic), want %d", dry.Count(driver.TableEvents, l), l, syntheticBefore(t, db, l, cutoffs[l]), gone)
		}
	}
	if total := levelCount(t, db, 0, false); total != int64(n)+1 {
		t.Fatalf("the dry run changed the table: %d events, want %d", total, n+1)
	}

	// A writer adds current events while retention runs.
	var (
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		longest time.Duration
		written int64
		werr    error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			batch := make([]audit.Event, 50)
			for i := range batch {
				batch[i] = audit.Event{ID: uuid.Must(uuid.NewV7()), Time: RetentionNow, Level: audit.LevelAudit, Type: "concurrent",
					Params: []audit.Param{audit.P("i", i)}}
			}
			start := time.Now()
			if werr = s.Write(ctx, batch); werr != nil {
				return
			}
			longest = max(longest, time.Since(start))
			written += int64(len(batch))
		}
	}()
	rep, err := retain(ctx, false)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if werr != nil {
		t.Fatalf("concurrent write: %v", werr)
	}
	if maxWait > 0 && longest >= maxWait {
		t.Errorf("a concurrent batch waited %s during retention, want < %s", longest, maxWait)
	}
	t.Logf("retention: %+v; concurrent writer: %d events, longest batch %s", rep.Removed, written, longest)

	for _, l := range audit.Levels() {
		w, wv := want[l], 2*want[l]
		if l == audit.LevelAudit {
			w, wv = w+written, wv+written
		}
		if got := levelCount(t, db, l, false); got != w {
			t.Errorf("%s: %d events left, want %d", l, got, w)
		}
		if got := levelCount(t, db, l, true); got != wv {
			t.Errorf("%s: %d values left, want %d", l, got, wv)
		}
		if got := syntheticBefore(t, db, l, cutoffs[l]); got != 0 {
			t.Errorf("%s: %d expired session-start events left", l, got)
		}
		if gone := int64(countBefore(events, l, cutoffs[l])); rep.Count(driver.TableEvents, l) < gone {
			t.Errorf("%s: report says %d events removed, want at least %d", l, rep.Count(driver.TableEvents, l), gone)
		}
	}
	for _, c := range []struct {
		q    string
		want int
	}{
		{"SELECT count(*) FROM {users_sessions} WHERE session_key = 'idle-session'", 0},
		{"SELECT count(*) FROM {users} WHERE user_key = 'idle-user'", 0},
		{"SELECT count(*) FROM {users_sessions} WHERE session_key = 's1'", 1},
		{"SELECT count(*) FROM {users} WHERE user_key = 'u1'", 1},
		{"SELECT count(*) FROM {users_history}", 0},
		{"SELECT count(*) FROM {groups_relations_history}", 0},
	} {
		var got int
		if err := db.GetContext(ctx, &got, db.SQL(c.q)); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s = %d, want %d", c.q, got, c.want)
		}
	}
	// The rest reads back whole: the newest events with their params.
	page, err := s.(audit.Reader).Read(ctx, audit.Query{Types: []string{"retention-test"}, Limit: 10})
	if err != nil || len(page.Events) != 10 || len(page.Events[0].Params) != 2 {
		t.Errorf("Read after retention = %d events (%v), want 10 with 2 params", len(page.Events), err)
	}
	return rep
}

func countBefore(events []audit.Event, l audit.Level, t time.Time) int {
	n := 0
	for _, e := range events {
		if e.Level == l && e.Time.Before(t) {
			n++
		}
	}
	return n
}

// levelCount counts the logged events of level l (all levels for 0), or
// their param values.
func levelCount(t *testing.T, db driver.DB, l audit.Level, values bool) int64 {
	q := "SELECT count(*) FROM {events} e WHERE e.comment IS NULL AND (? = '' OR e.level = ?)"
	if values {
		q = "SELECT count(*) FROM {event_parameter_values} v JOIN {events} e ON e.id = v.event_id WHERE e.comment IS NULL AND (? = '' OR e.level = ?)"
	}
	name := ""
	if l != 0 {
		name = l.String()
	}
	var n int64
	if err := db.GetContext(context.Background(), &n, db.SQL(q), name, name); err != nil {
		t.Fatal(err)
	}
	return n
}

// syntheticBefore counts the store's own events of level l older than t.
func syntheticBefore(t *testing.T, db driver.DB, l audit.Level, before time.Time) int64 {
	var n int64
	q := db.SQL("SELECT count(*) FROM {events} WHERE comment IS NOT NULL AND level = ? AND event_time < ?")
	if err := db.GetContext(context.Background(), &n, q, l.String(), db.TimeArg(before)); err != nil {
		t.Fatal(err)
	}
	return n
}
