package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/internal/driver/pg"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
)

// rollupEvents returns n events, one every step back from last, of three
// users (one event in seven without), their sessions, and an error every
// fifth.
func rollupEvents(n int, last time.Time, step time.Duration) []audit.Event {
	var out []audit.Event
	for i := range n {
		e := audit.Event{ID: uuid.Must(uuid.NewV7()), Time: last.Add(-time.Duration(i) * step), Level: audit.LevelUsage,
			Type: fmt.Sprintf("type-%d", i%4), Duration: time.Duration(i+1) * time.Millisecond}
		if i%7 != 0 {
			e.UserID = fmt.Sprintf("u%d", i%3)
			e.SessionID = fmt.Sprintf("u%d-%d", i%3, i/50)
		}
		if i%5 == 0 {
			e.Level, e.Message, e.Fingerprint, e.StackTrace = audit.LevelError, "boom", fmt.Sprintf("fp%d", i%2), "stack"
		}
		out = append(out, e)
	}
	return out
}

// rollupTotals returns what the rollup tables count per table, width and
// bucket ("types 1 2025-05-10T09:00:00Z" -> events).
func rollupTotals(t *testing.T, s *postgres.Store) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range []string{"rollup_types", "rollup_users", "rollup_user_types", "rollup_sessions", "rollup_errors"} {
		rows, err := s.DB().QueryxContext(context.Background(), fmt.Sprintf("SELECT width, bucket, sum(n) FROM %s.%s GROUP BY 1, 2",
			pg.Quote(s.Schema()), table))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var w int
			var b time.Time
			var n int64
			if err := rows.Scan(&w, &b, &n); err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("%s %d %s", table, w, b.UTC().Format(time.RFC3339))] = n
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// wantTotals returns what the rollups of events over [since, through)
// count, as rollupTotals reports it.
func wantTotals(events []audit.Event, since, through time.Time) map[string]int64 {
	out := map[string]int64{}
	for _, e := range events {
		if e.Time.Before(since) || !e.Time.Before(through) {
			continue
		}
		widths := []int{1}
		if d := e.Time.Truncate(24 * time.Hour); !d.Add(24 * time.Hour).After(through) {
			widths = append(widths, 24)
		}
		for _, w := range widths {
			b := e.Time.Truncate(time.Duration(w) * time.Hour).Format(time.RFC3339)
			out[fmt.Sprintf("rollup_types %d %s", w, b)]++
			out[fmt.Sprintf("rollup_users %d %s", w, b)]++
			if e.UserID != "" {
				out[fmt.Sprintf("rollup_user_types %d %s", w, b)]++
			}
			if e.SessionID != "" {
				out[fmt.Sprintf("rollup_sessions %d %s", w, b)]++
			}
			if e.Level == audit.LevelError {
				out[fmt.Sprintf("rollup_errors %d %s", w, b)]++
			}
		}
	}
	return out
}

// TestRollupIncremental writes events after a run, in the current hour, in
// the hour just rolled up and in hours rolled up days ago: the next run
// counts each of them once, through the trailing hours or the day check.
func TestRollupIncremental(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	clock := audittest.NewClock(time.Date(2025, 5, 10, 10, 5, 0, 0, time.UTC))
	opts := postgres.RollupOptions{Now: clock.Now, CheckInterval: time.Hour}
	events := rollupEvents(300, clock.Now(), 17*time.Minute) // about 3.5 days
	if err := s.Write(ctx, events); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Rollup(ctx, opts); err != nil || !ok {
		t.Fatalf("Rollup: %v, %v", ok, err)
	}
	since := events[len(events)-1].Time.Truncate(24 * time.Hour)
	through := clock.Now().Truncate(time.Hour)
	if d := cmp.Diff(wantTotals(events, since, through), rollupTotals(t, s)); d != "" {
		t.Fatalf("after the first run (-want +got):\n%s", d)
	}

	// Late commits: in the hour just rolled up (within Trail), in the
	// current hour (not rolled up yet) and two days back (left to the
	// check).
	late := rollupEvents(3, clock.Now().Add(-10*time.Minute), time.Second)
	late = append(late, rollupEvents(2, clock.Now().Add(-time.Minute), time.Second)...)
	old := rollupEvents(4, clock.Now().Add(-49*time.Hour), time.Minute)
	if err := s.Write(ctx, append(late, old...)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if ok, err := s.Rollup(ctx, opts); err != nil || !ok {
		t.Fatalf("Rollup: %v, %v", ok, err)
	}
	all := append(append(events, late...), old...)
	if d := cmp.Diff(wantTotals(append(events, late...), since, through), rollupTotals(t, s)); d != "" {
		t.Fatalf("after the second run, before the check (-want +got):\n%s", d)
	}
	clock.Advance(time.Hour)
	if ok, err := s.Rollup(ctx, opts); err != nil || !ok {
		t.Fatalf("Rollup: %v, %v", ok, err)
	}
	through = clock.Now().Truncate(time.Hour)
	if d := cmp.Diff(wantTotals(all, since, through), rollupTotals(t, s)); d != "" {
		t.Fatalf("after the check (-want +got):\n%s", d)
	}
	// A rebuild of the last days, up to the store's clock (the time of
	// day): the same rows, and the days up to today whole.
	if err := s.RebuildRollups(ctx, since.Add(36*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantTotals(all, since, time.Now().Truncate(time.Hour)), rollupTotals(t, s)); d != "" {
		t.Fatalf("after a rebuild (-want +got):\n%s", d)
	}
}

// TestRollupRunner starts two runners on one schema: they keep the rollups
// current, one writer at a time, and stop at Close; a transaction holding
// the rollup lock makes a run skip its turn.
func TestRollupRunner(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	now := time.Date(2025, 5, 10, 10, 5, 0, 0, time.UTC)
	events := rollupEvents(100, now, 13*time.Minute)
	if err := s.Write(ctx, events); err != nil {
		t.Fatal(err)
	}

	tx, err := s.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", pg.RollupLockKey(s.Schema())); err != nil {
		t.Fatal(err)
	}
	opts := postgres.RollupOptions{Now: func() time.Time { return now }, Interval: 10 * time.Millisecond}
	if ok, err := s.Rollup(ctx, opts); err != nil || ok {
		t.Fatalf("Rollup while locked: %v, %v; want false, nil", ok, err)
	}
	if got := rollupTotals(t, s); len(got) != 0 {
		t.Fatalf("a run wrote while another held the lock: %v", got)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var errs []error
	opts.OnError = func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}
	var runners []*postgres.RollupRunner
	for range 2 {
		r, err := s.StartRollups(opts)
		if err != nil {
			t.Fatal(err)
		}
		runners = append(runners, r)
	}
	want := wantTotals(events, events[len(events)-1].Time.Truncate(24*time.Hour), now.Truncate(time.Hour))
	audittest.Eventually(t, "the rollups", func() bool { return cmp.Equal(want, rollupTotals(t, s)) })
	more := rollupEvents(5, now.Add(-30*time.Minute), time.Minute) // in the hour the runners roll up
	if err := s.Write(ctx, more); err != nil {
		t.Fatal(err)
	}
	want = wantTotals(append(events, more...), events[len(events)-1].Time.Truncate(24*time.Hour), now.Truncate(time.Hour))
	audittest.Eventually(t, "the rollups", func() bool { return cmp.Equal(want, rollupTotals(t, s)) })
	for _, r := range runners {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := r.Close(cctx); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(cctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	mu.Lock()
	defer mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	if _, err := s.StartRollups(postgres.RollupOptions{Interval: -time.Second}); !errors.Is(err, audit.ErrInvalidOptions) {
		t.Fatalf("negative Interval: %v", err)
	}
	s.Close(ctx)
	if _, err := s.StartRollups(postgres.RollupOptions{}); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("StartRollups after Close: %v", err)
	}
}

// TestRetentionRollups runs retention on rolled-up events: the rollups
// then count exactly the events that remain, the days wholly expired
// included, without a rollup run.
func TestRetentionRollups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2025, 5, 10, 10, 5, 0, 0, time.UTC)
	pol := audit.Retention{Levels: map[audit.Level]time.Duration{audit.LevelUsage: 20 * audit.Day, audit.LevelError: 30 * audit.Day}}
	s, err := postgres.Open(ctx, pgtest.DSN(t), postgres.Options{Schema: pgtest.Schema(t), Now: func() time.Time { return now }, Retention: pol})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(ctx) })
	events := rollupEvents(300, now, 5*time.Hour) // 62 days: usage, and errors
	if err := s.Write(ctx, events); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Rollup(ctx, postgres.RollupOptions{Now: func() time.Time { return now }}); err != nil || !ok {
		t.Fatalf("Rollup: %v, %v", ok, err)
	}
	since, through := events[len(events)-1].Time.Truncate(audit.Day), now.Truncate(time.Hour)
	if d := cmp.Diff(wantTotals(events, since, through), rollupTotals(t, s)); d != "" {
		t.Fatalf("before retention (-want +got):\n%s", d)
	}
	if _, err := s.Retain(ctx, false); err != nil {
		t.Fatal(err)
	}
	cutoffs := pol.Cutoffs(now)
	var kept []audit.Event
	for _, e := range events {
		if !e.Time.Before(cutoffs[e.Level]) {
			kept = append(kept, e)
		}
	}
	if len(kept) == len(events) || len(kept) == 0 {
		t.Fatalf("retention kept %d of %d events: the corpus does not test it", len(kept), len(events))
	}
	if d := cmp.Diff(wantTotals(kept, since, through), rollupTotals(t, s)); d != "" {
		t.Errorf("after retention (-want +got):\n%s", d)
	}
}
