package pg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"time"

	"github.com/auditkit/audit/internal/driver"
	"github.com/jmoiron/sqlx"
)

// Period is the time range of one partition.
type Period int

// The partition periods.
const (
	Month Period = iota
	Week
	Day
)

// Start returns the start of the period that holds t (UTC; weeks start on
// Monday, as date_trunc's).
func (p Period) Start(t time.Time) time.Time {
	t = t.UTC()
	switch p {
	case Day:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case Week:
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	}
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Next returns the start of the period after the one that starts at start.
func (p Period) Next(start time.Time) time.Time {
	switch p {
	case Day:
		return start.AddDate(0, 0, 1)
	case Week:
		return start.AddDate(0, 0, 7)
	}
	return start.AddDate(0, 1, 0)
}

// PartitionedTables are the tables partitioned by event_time.
var PartitionedTables = []string{driver.TableEvents, driver.TableValues}

// Partitions manages the time partitions of the tables of one schema.
type Partitions struct {
	schema string // raw
	d      Dialect
	period Period
}

// NewPartitions returns the partition manager of the tables in schema.
func NewPartitions(schema string, period Period) Partitions {
	return Partitions{schema: schema, d: NewDialect(schema), period: period}
}

// Period returns the period of the partitions it creates.
func (p Partitions) Period() Period { return p.period }

// Partitioned reports whether the events table is partitioned.
func (p Partitions) Partitioned(ctx context.Context, db sqlx.QueryerContext) (bool, error) {
	var ok bool
	err := sqlx.GetContext(ctx, db, &ok, "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass($1))",
		p.d.Table(driver.TableEvents))
	return ok, err
}

func (p Partitions) lockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/auditkit/audit/store/postgres partitions " + p.schema))
	return int64(h.Sum64())
}

// Name returns the name of the partition of table that starts at start.
func Name(table string, start time.Time) string { return table + "_p" + start.Format("20060102") }

// Create creates, for each table, the partition of the period that starts
// at start, unless it exists. It returns false, with no error, when the
// range cannot have its own partition: another partition overlaps it (a
// legacy partition, or one of another period) or the DEFAULT partition
// holds rows of it; those rows stay where they are.
func (p Partitions) Create(ctx context.Context, db *sqlx.DB, start time.Time) (bool, error) {
	end := p.period.Next(start)
	// Partitions made already (by another process) need no lock on the
	// partitioned tables, which writers hold.
	var have int
	if err := db.GetContext(ctx, &have, "SELECT count(to_regclass($1)) + count(to_regclass($2))",
		p.d.schema+"."+Quote(Name(PartitionedTables[0], start)), p.d.schema+"."+Quote(Name(PartitionedTables[1], start))); err != nil {
		return false, err
	}
	if have == len(PartitionedTables) {
		return true, nil
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	stmts := []string{
		fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", p.lockKey()),
		"SET LOCAL lock_timeout = '500ms'",
	}
	for _, t := range PartitionedTables {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s PARTITION OF %s FOR VALUES FROM ('%s') TO ('%s')",
			p.d.schema, Quote(Name(t, start)), p.d.Table(t), start.Format(time.RFC3339), end.Format(time.RFC3339)))
	}
	// An event id is unique in its partition (the key holds the time too).
	ev := Name(driver.TableEvents, start)
	stmts = append(stmts, "CREATE UNIQUE INDEX IF NOT EXISTS "+Quote(ev+"_id_key")+" ON "+p.d.schema+"."+Quote(ev)+" (id) WITH (fillfactor = 100)")
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			if code, _, _ := Code(err); code == "42P17" || code == "23514" {
				return false, nil // overlaps another partition, or the default holds rows of the range
			}
			return false, err
		}
	}
	return true, tx.Commit()
}

// Bound is a partition and the end of its range.
type Bound struct {
	Table, Partition string
	// To is the end of the range; zero for the DEFAULT partition.
	To time.Time
}

var toBound = regexp.MustCompile(`TO \('([^']+)'\)`)

// List returns the partitions of the partitioned tables.
func (p Partitions) List(ctx context.Context, db *sqlx.DB) ([]Bound, error) {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO'"); err != nil {
		return nil, err
	}
	var out []Bound
	for _, t := range PartitionedTables {
		var rows []struct {
			Name  string `db:"relname"`
			Bound string `db:"bound"`
		}
		err := tx.SelectContext(ctx, &rows, `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
			FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = to_regclass($1) ORDER BY 1`, p.d.Table(t))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			b := Bound{Table: t, Partition: r.Name}
			if m := toBound.FindStringSubmatch(r.Bound); m != nil {
				if b.To, err = time.Parse("2006-01-02 15:04:05.999999-07", m[1]); err != nil {
					return nil, fmt.Errorf("partition %s: bound %q: %w", r.Name, r.Bound, err)
				}
			} else if r.Bound != "DEFAULT" {
				continue // TO (MAXVALUE): never expires whole
			}
			out = append(out, b)
		}
	}
	return out, nil
}

// Drop drops a partition, waiting at most 500 ms for its table's lock, so
// that the writers queued behind it wait no longer; a lock not had in time
// is retried a few times.
func (p Partitions) Drop(ctx context.Context, db *sqlx.DB, partition string) error {
	var err error
	for range 5 {
		if err = p.dropOnce(ctx, db, partition); err == nil {
			return nil
		}
		if code, _, _ := Code(err); code != "55P03" { // lock_not_available
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return err
}

func (p Partitions) dropOnce(ctx context.Context, db *sqlx.DB, partition string) error {
	return p.inTx(ctx, db, "500ms", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "DROP TABLE "+p.d.schema+"."+Quote(partition))
		return err
	})
}

// ErrPartitioned is returned by [Partitions.Convert] for tables that are
// partitioned already.
var ErrPartitioned = errors.New("the tables are partitioned already")

// Convert turns unpartitioned events and event_parameter_values tables into
// partitioned ones, attaching the old tables as one partition each; see
// store/postgres's Store.Partition for the steps. now is the current time.
func (p Partitions) Convert(ctx context.Context, db *sqlx.DB, now time.Time) error {
	if on, err := p.Partitioned(ctx, db); err != nil || on {
		if on {
			return ErrPartitioned
		}
		return err
	}
	events, values := p.d.Table(driver.TableEvents), p.d.Table(driver.TableValues)
	fill := "UPDATE " + values + " v SET event_time = coalesce((SELECT e.event_time FROM " + events +
		" e WHERE e.id = v.event_id LIMIT 1), '-infinity') WHERE v.ctid = ANY (ARRAY (SELECT ctid FROM " + values +
		" WHERE event_time IS NULL LIMIT 5000))"
	backfill := func() error {
		for {
			res, err := db.ExecContext(ctx, fill)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil
			}
		}
	}
	if err := backfill(); err != nil {
		return err
	}
	var newest sql.NullTime
	if err := db.GetContext(ctx, &newest, "SELECT max(event_time) FROM "+events); err != nil {
		return err
	}
	last := now
	if newest.Valid && newest.Time.After(last) {
		last = newest.Time
	}
	bound := p.period.Next(p.period.Next(p.period.Start(last)))
	b := bound.Format(time.RFC3339)
	steps := []string{
		"ALTER TABLE " + events + " DROP CONSTRAINT IF EXISTS events_legacy_range",
		"ALTER TABLE " + values + " DROP CONSTRAINT IF EXISTS event_parameter_values_legacy_range",
		"ALTER TABLE " + events + " ADD CONSTRAINT events_legacy_range CHECK (event_time < '" + b + "') NOT VALID",
		"ALTER TABLE " + values + " ADD CONSTRAINT event_parameter_values_legacy_range CHECK (event_time IS NOT NULL AND event_time < '" + b + "') NOT VALID",
	}
	for _, st := range steps {
		if err := p.execLocked(ctx, db, st); err != nil {
			return err
		}
	}
	if err := backfill(); err != nil {
		return err
	}
	idx := []struct{ name, def string }{
		{"events_legacy_key", events + " (event_time, id)"},
		{"event_parameter_values_legacy_key", values + " (event_id, parameter_id, event_time)"},
	}
	for _, st := range []string{
		"ALTER TABLE " + events + " VALIDATE CONSTRAINT events_legacy_range",
		"ALTER TABLE " + values + " VALIDATE CONSTRAINT event_parameter_values_legacy_range",
		// An index left invalid by an interrupted run is built again.
		"DROP INDEX CONCURRENTLY IF EXISTS " + p.d.schema + "." + idx[0].name,
		"DROP INDEX CONCURRENTLY IF EXISTS " + p.d.schema + "." + idx[1].name,
		"CREATE UNIQUE INDEX CONCURRENTLY " + idx[0].name + " ON " + idx[0].def + " WITH (fillfactor = 100)",
		"CREATE UNIQUE INDEX CONCURRENTLY " + idx[1].name + " ON " + idx[1].def,
	} {
		if _, err := db.ExecContext(ctx, st); err != nil {
			return err
		}
	}
	var err error
	for range 10 {
		if err = p.swap(ctx, db, b); err == nil {
			return nil
		}
		if code, _, _ := Code(err); code != "55P03" {
			return err
		}
	}
	return err
}

// execLocked runs one statement that takes a table lock, waiting at most a
// second for it, and tries again a few times.
func (p Partitions) execLocked(ctx context.Context, db *sqlx.DB, stmt string) error {
	var err error
	for range 10 {
		err = p.inTx(ctx, db, "1s", func(tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, stmt)
			return err
		})
		if code, _, _ := Code(err); code != "55P03" {
			return err
		}
	}
	return err
}

// inTx runs f in a transaction whose statements wait at most lockTimeout
// for a lock.
func (p Partitions) inTx(ctx context.Context, db *sqlx.DB, lockTimeout string, f func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = '"+lockTimeout+"'"); err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// legacyIndexes are the indexes of the unpartitioned tables that keep
// their definition under the partitioned ones: renamed so that the
// partitioned tables' indexes can take their names.
var legacyIndexes = []string{
	"events_type_time", "events_session_time", "events_user_time", "events_error_stack_trace_hash_time",
	"event_parameter_values_entity", "event_parameter_values_value_uuid", "event_parameter_values_object",
}

// objectIndex is the index of migration 0008, which the partitioned tables
// of audit_create_partitioned (migration 0004) lack: created on them before
// the old table is attached, whose own (renamed) index it then takes.
const objectIndex = `CREATE INDEX IF NOT EXISTS event_parameter_values_object
    ON event_parameter_values (value, entity_kind, event_time, event_id)
    INCLUDE (value_raw, entity_kind_raw)
    WHERE entity_kind IS NOT NULL AND octet_length(value) <= 800 AND octet_length(entity_kind) <= 100`

// swap is the conversion's one transaction: rename, create, attach.
func (p Partitions) swap(ctx context.Context, db *sqlx.DB, bound string) error {
	s := p.d.schema
	events, values := p.d.Table(driver.TableEvents), p.d.Table(driver.TableValues)
	return p.inTx(ctx, db, "1s", func(tx *sqlx.Tx) error {
		stmts := []string{
			"LOCK TABLE " + events + ", " + values + " IN ACCESS EXCLUSIVE MODE",
			"SET LOCAL search_path TO " + s,
			"ALTER TABLE event_parameter_values ALTER COLUMN event_time SET NOT NULL", // proven by the CHECK: no scan
			// The old primary keys stay (events_pkey keeps ids unique);
			// the partitioned tables' keys attach to these constraints.
			"ALTER TABLE events ADD CONSTRAINT events_legacy_key UNIQUE USING INDEX events_legacy_key",
			"ALTER TABLE event_parameter_values ADD CONSTRAINT event_parameter_values_legacy_key UNIQUE USING INDEX event_parameter_values_legacy_key",
			"DROP INDEX IF EXISTS events_time",
			"ALTER TABLE events RENAME TO events_legacy",
			"ALTER TABLE event_parameter_values RENAME TO event_parameter_values_legacy",
		}
		for _, ix := range legacyIndexes {
			stmts = append(stmts, "ALTER INDEX IF EXISTS "+ix+" RENAME TO "+ix+"_legacy")
		}
		stmts = append(stmts,
			"SELECT audit_create_partitioned()",
			objectIndex,
			"ALTER TABLE events ATTACH PARTITION events_legacy FOR VALUES FROM (MINVALUE) TO ('"+bound+"')",
			"ALTER TABLE event_parameter_values ATTACH PARTITION event_parameter_values_legacy FOR VALUES FROM (MINVALUE) TO ('"+bound+"')",
		)
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, st); err != nil {
				return fmt.Errorf("%s: %w", st, err)
			}
		}
		return nil
	})
}
