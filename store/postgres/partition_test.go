package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/internal/driver/pg"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/storetest"
	"github.com/google/uuid"
)

func openAt(t *testing.T, dsn, schema string, now time.Time) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(ctx) })
	return s
}

// partitionOf returns, for each event id, the partition of events that
// holds it.
func partitionOf(t *testing.T, s *postgres.Store) map[uuid.UUID]string {
	t.Helper()
	rows, err := s.DB().QueryxContext(context.Background(),
		`SELECT id, tableoid::regclass::text FROM `+qi(s.Schema())+`.events WHERE comment IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[uuid.UUID]string{}
	for rows.Next() {
		var id uuid.UUID
		var part string
		if err := rows.Scan(&id, &part); err != nil {
			t.Fatal(err)
		}
		out[id] = part[strings.LastIndex(part, ".")+1:]
	}
	return out
}

func qi(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func TestPartitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	s := openAt(t, pgtest.DSN(t), pgtest.Schema(t), now)
	var events []audit.Event
	want := map[uuid.UUID]string{}
	for m := range 14 { // months from May 2025 to June 2026
		at := time.Date(2025, time.Month(5+m), 10, 8, 0, 0, 0, time.UTC)
		e := audit.Event{ID: uuid.Must(uuid.NewV7()), Time: at, Level: audit.LevelAudit, Type: "t", Params: []audit.Param{audit.P("k", m)}}
		events = append(events, e)
		want[e.ID] = "events_p" + at.Format("200601") + "01"
	}
	// Far past and future: outside the on-demand window, into the default.
	for _, at := range []time.Time{time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)} {
		e := audit.Event{ID: uuid.Must(uuid.NewV7()), Time: at, Level: audit.LevelAudit, Type: "t", Params: []audit.Param{audit.P("k", 1)}}
		events = append(events, e)
		want[e.ID] = "events_default"
	}
	if err := s.Write(ctx, events); err != nil {
		t.Fatal(err)
	}
	got := partitionOf(t, s)
	for id, w := range want {
		if got[id] != w {
			t.Errorf("event at %s is in %q, want %q", eventTime(events, id), got[id], w)
		}
	}
	// The values are in the partitions of their events' times.
	var misplaced int
	if err := s.DB().GetContext(ctx, &misplaced, `SELECT count(*) FROM `+qi(s.Schema())+`.event_parameter_values v
		JOIN `+qi(s.Schema())+`.events e ON e.id = v.event_id
		WHERE replace(v.tableoid::regclass::text, 'event_parameter_values', 'events') <> e.tableoid::regclass::text`); err != nil {
		t.Fatal(err)
	}
	if misplaced != 0 {
		t.Errorf("%d values are not in their events' partition", misplaced)
	}
	// Partitions were made ahead of time, to three months after now's.
	var ahead bool
	if err := s.DB().GetContext(ctx, &ahead, "SELECT to_regclass($1) IS NOT NULL", qi(s.Schema())+".events_p20260901"); err != nil || !ahead {
		t.Errorf("partition events_p20260901 made ahead: %v (%v)", ahead, err)
	}
	// A retried batch, and an id sent again with another time in the same
	// partition, store nothing twice.
	changed := events[0]
	changed.Time = changed.Time.Add(time.Hour)
	if err := s.Write(ctx, append(events, changed)); err != nil {
		t.Fatal(err)
	}
	if n := len(audittest.Stored(t, s)); n != len(events) {
		t.Errorf("%d events stored after the retry, want %d", n, len(events))
	}
	// Queries written for Datagrok's plain tables work unchanged.
	for _, q := range []string{
		`SELECT e.id, e.event_time, t.friendly_name, t.source FROM events e JOIN event_types t ON t.id = e.event_type_id
			WHERE e.event_time > now() - interval '10 years' ORDER BY e.event_time DESC LIMIT 5`,
		`SELECT p.name, v.value::int FROM event_parameter_values v JOIN event_parameters p ON p.id = v.parameter_id
			JOIN events e ON e.id = v.event_id WHERE e.description = '' AND p.name = 'k'`,
		`SELECT t.source, count(*) FROM events e JOIN event_types t ON t.id = e.event_type_id GROUP BY t.source`,
		`SELECT count(*) FROM events e LEFT JOIN users_sessions s ON s.id = e.session_id WHERE e.is_error = false`,
	} {
		tx, err := s.DB().BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "SET LOCAL search_path TO "+qi(s.Schema())); err != nil {
			t.Fatal(err)
		}
		rows, err := tx.QueryContext(ctx, q)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		tx.Rollback()
		if err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
}

func eventTime(events []audit.Event, id uuid.UUID) time.Time {
	for _, e := range events {
		if e.ID == id {
			return e.Time
		}
	}
	return time.Time{}
}

func TestRetention(t *testing.T) {
	t.Parallel()
	s := openAt(t, pgtest.DSN(t), pgtest.Schema(t), storetest.RetentionNow)
	rep := storetest.Retention(t, s, s.Retain, retentionEvents, retentionMaxWait)
	// Every level's cutoff is at least 365 days back: the monthly
	// partitions that end before it (about a year of the two) go whole.
	if len(rep.DroppedPartitions) < 20 {
		t.Errorf("dropped partitions %v, want those of about 11 months of both tables", rep.DroppedPartitions)
	}
}

func TestRetentionHookAndLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	stop := errors.New("stop")
	var got map[audit.Level]time.Time
	s, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema, Now: func() time.Time { return storetest.RetentionNow },
		Retention: audit.Retention{BeforeExpire: func(_ context.Context, c map[audit.Level]time.Time) error { got = c; return stop }}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	old := audit.Event{ID: uuid.Must(uuid.NewV7()), Time: storetest.RetentionNow.Add(-400 * audit.Day), Level: audit.LevelDebug, Type: "t"}
	if err := s.Write(ctx, []audit.Event{old}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retain(ctx, false); !errors.Is(err, stop) {
		t.Fatalf("Retain = %v, want the hook's error", err)
	}
	if want := storetest.RetentionNow.Add(-30 * audit.Day); !got[audit.LevelDebug].Equal(want) {
		t.Errorf("hook cutoff for debug = %s, want %s", got[audit.LevelDebug], want)
	}
	if n := len(audittest.Stored(t, s)); n != 1 {
		t.Errorf("%d events after a stopped run, want 1", n)
	}
	// A second store on the schema runs nothing while the first holds the
	// lock.
	conn, err := s.DB().Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	other := openAt(t, dsn, schema, storetest.RetentionNow)
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", pg.RetentionLockKey(schema)); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Retain(ctx, false); !errors.Is(err, postgres.ErrRetentionRunning) {
		t.Errorf("Retain while another runs = %v, want ErrRetentionRunning", err)
	}
}

// TestPartitionConvert converts a populated database migrated before
// partitions existed, with a writer adding events throughout.
func TestPartitionConvert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, schema := pgtest.DSN(t), pgtest.Schema(t)
	now := time.Now().UTC()
	s, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema, NoMigrate: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	old := pg.Migrator("postgres", schema)
	for len(old.Migrations) > 0 && old.Migrations[len(old.Migrations)-1].Version >= 4 {
		old.Migrations = old.Migrations[:len(old.Migrations)-1] // the tables before partitions
	}
	if err := old.Migrate(ctx, s.DB()); err != nil {
		t.Fatal(err)
	}
	mk := func(n int, at time.Time, params bool) []audit.Event {
		out := make([]audit.Event, n)
		for i := range out {
			out[i] = audit.Event{ID: uuid.Must(uuid.NewV7()), Time: at.Add(time.Duration(i) * time.Minute), Level: audit.LevelAudit, Type: "t", UserID: "u"}
			if params {
				out[i].Params = []audit.Param{audit.P("k", i)}
			}
		}
		return out
	}
	// Rows of the old shape: events, and values without event_time.
	if err := s.Write(ctx, mk(300, now.AddDate(0, -5, 0), false)); err != nil {
		t.Fatal(err)
	}
	res, err := s.DB().ExecContext(ctx, `INSERT INTO `+qi(schema)+`.event_parameter_values (event_id, parameter_id, value)
		SELECT id, gen_random_uuid(), 'old' FROM `+qi(schema)+`.events`)
	if err != nil {
		t.Fatal(err)
	}
	oldValues, _ := res.RowsAffected()
	if err := s.Migrate(ctx); err != nil { // a populated database keeps its plain tables
		t.Fatal(err)
	}
	if err := s.Write(ctx, mk(300, now.AddDate(0, -2, 0), true)); err != nil {
		t.Fatal(err)
	}
	before := audittest.Stored(t, s)

	stop := make(chan struct{})
	done := make(chan error, 1)
	var during []audit.Event
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			batch := mk(20, now, true)
			if err := s.Write(ctx, batch); err != nil {
				done <- err
				return
			}
			during = append(during, batch...)
		}
	}()
	err = s.Partition(ctx)
	close(stop)
	if werr := <-done; werr != nil {
		t.Errorf("write during the conversion: %v", werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Partition(ctx); !errors.Is(err, postgres.ErrPartitioned) {
		t.Errorf("second Partition = %v, want ErrPartitioned", err)
	}
	after := mk(5, now.AddDate(0, 4, 0), true) // beyond the legacy range: a new partition
	if err := s.Write(ctx, after); err != nil {
		t.Fatal(err)
	}
	got := audittest.Stored(t, s)
	if want := len(before) + len(during) + len(after); len(got) != want {
		t.Fatalf("%d events after the conversion, want %d", len(got), want)
	}
	// Every values partition, the old table too, has the object index of
	// migration 0008, attached to the partitioned table's.
	var unindexed []string
	err = s.DB().SelectContext(ctx, &unindexed, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
		WHERE n.nspname = $1 AND p.relname = 'event_parameter_values' AND NOT EXISTS (SELECT 1 FROM pg_index x
			JOIN pg_inherits xi ON xi.inhrelid = x.indexrelid JOIN pg_class xp ON xp.oid = xi.inhparent
			WHERE x.indrelid = c.oid AND xp.relname = 'event_parameter_values_object')`, schema)
	if err != nil || len(unindexed) > 0 {
		t.Errorf("values partitions without the object index: %v, %v", unindexed, err)
	}
	parts := partitionOf(t, s)
	if p := parts[before[0].ID]; p != "events_legacy" {
		t.Errorf("an old event is in %q, want events_legacy", p)
	}
	if p, w := parts[after[0].ID], "events_p"+after[0].Time.Format("200601")+"01"; p != w {
		t.Errorf("a new event is in %q, want %q", p, w)
	}
	var values, nulls int
	if err := s.DB().QueryRowxContext(ctx, `SELECT count(*), count(*) FILTER (WHERE event_time IS NULL) FROM `+qi(schema)+`.event_parameter_values`).Scan(&values, &nulls); err != nil {
		t.Fatal(err)
	}
	if want := int(oldValues) + 300 + len(during) + len(after); values != want || nulls != 0 {
		t.Errorf("%d values (%d without event_time), want %d", values, nulls, want)
	}
	// Read finds the old events with their params.
	page, err := s.Read(ctx, audit.Query{Until: now.AddDate(0, -1, 0), Limit: 1})
	if err != nil || len(page.Events) != 1 || len(page.Events[0].Params) != 1 {
		t.Errorf("Read of an old event = %+v, %v", page.Events, err)
	}
}
