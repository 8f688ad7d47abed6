package pg

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/jmoiron/sqlx"
)

// Retainer is the [driver.Retainer] of the tables of one schema.
type Retainer struct {
	Parts Partitions
	DB    *sqlx.DB
	// Partitioned says whether the tables are partitioned (and
	// event_parameter_values.event_time is NOT NULL).
	Partitioned bool
}

var _ driver.Retainer = Retainer{}

// RetentionLockKey is the session advisory lock held by the one retention
// run of a schema.
func RetentionLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/auditkit/audit/store/postgres retention " + schema))
	return int64(h.Sum64())
}

// DropPartitions implements [driver.Retainer]: the partitions whose range
// ends at or before before, events' and event_parameter_values' alike,
// the legacy partition of a converted database included. The DEFAULT
// partition is never dropped: its expired rows go by DeleteEvents.
func (r Retainer) DropPartitions(ctx context.Context, before time.Time, dry bool, rep *audit.RetentionReport) error {
	bounds, err := r.Parts.List(ctx, r.DB)
	if err != nil {
		return err
	}
	// Values first: they are counted by the level of their events.
	slices.SortStableFunc(bounds, func(a, b Bound) int { return strings.Compare(a.Table, b.Table) })
	for _, b := range bounds {
		if b.To.IsZero() || b.To.After(before) {
			continue
		}
		part := r.Parts.d.schema + "." + Quote(b.Partition)
		q := "SELECT level, count(*) AS n FROM " + part + " GROUP BY level"
		if b.Table != driver.TableEvents {
			// The events' partition of the same range may be gone already
			// (a run stopped between the two): such values count as level 0.
			q = "SELECT coalesce(e.level, '') AS level, count(*) AS n FROM " + part + " v LEFT JOIN " + r.Parts.d.Table(driver.TableEvents) +
				" e ON e.id = v.event_id AND e.event_time = v.event_time GROUP BY 1"
		}
		var counts []struct {
			Level string `db:"level"`
			N     int64  `db:"n"`
		}
		if err := r.DB.SelectContext(ctx, &counts, q); err != nil {
			return err
		}
		for _, c := range counts {
			l, _ := audit.ParseLevel(c.Level)
			rep.Add(b.Table, l, c.N)
		}
		if !dry {
			if err := r.Parts.Drop(ctx, r.DB, b.Partition); err != nil {
				return err
			}
		}
		rep.DroppedPartitions = append(rep.DroppedPartitions, b.Partition)
	}
	return nil
}

// DeleteEvents implements [driver.Retainer]. Each statement deletes at most
// [driver.RetainBatch] events and their values, in its own transaction:
// it locks only the rows it deletes, which no writer touches.
func (r Retainer) DeleteEvents(ctx context.Context, l audit.Level, before time.Time, dry bool, rep *audit.RetentionReport) error {
	events, values := r.Parts.d.Table(driver.TableEvents), r.Parts.d.Table(driver.TableValues)
	if dry {
		var n, nv int64
		if err := r.DB.GetContext(ctx, &n, "SELECT count(*) FROM "+events+" WHERE level = $1 AND event_time < $2", l.String(), before); err != nil {
			return err
		}
		q := "SELECT count(*) FROM " + values + " v JOIN " + events + " e ON " + r.valueJoin() + " WHERE e.level = $1 AND e.event_time < $2"
		if err := r.DB.GetContext(ctx, &nv, q, l.String(), before); err != nil {
			return err
		}
		// Less those of the partitions counted as dropped: all older than
		// every cutoff, they are in these counts too.
		rep.Add(driver.TableEvents, l, n-rep.Count(driver.TableEvents, l))
		rep.Add(driver.TableValues, l, nv-rep.Count(driver.TableValues, l))
		return nil
	}
	q := fmt.Sprintf(`WITH d AS (
		DELETE FROM %[1]s e WHERE (e.event_time, e.id) IN (
			SELECT event_time, id FROM %[1]s WHERE level = $1 AND event_time < $2 LIMIT %[3]d)
		RETURNING e.id, e.event_time),
	v AS (DELETE FROM %[2]s v USING d e WHERE %[4]s RETURNING 1)
	SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM v)`, events, values, driver.RetainBatch, r.valueJoin())
	for {
		var n, nv int64
		if err := r.DB.QueryRowxContext(ctx, q, l.String(), before).Scan(&n, &nv); err != nil {
			return err
		}
		rep.Add(driver.TableEvents, l, n)
		rep.Add(driver.TableValues, l, nv)
		if n < driver.RetainBatch {
			return nil
		}
	}
}

// valueJoin matches the values v of the events e: by the partition key too
// when the tables are partitioned, so that each event is looked up in one
// partition.
func (r Retainer) valueJoin() string {
	if r.Partitioned {
		return "v.event_id = e.id AND v.event_time = e.event_time"
	}
	return "v.event_id = e.id"
}

// DeleteIdle implements [driver.Retainer].
func (r Retainer) DeleteIdle(ctx context.Context, before time.Time, dry bool, rep *audit.RetentionReport) error {
	t := r.Parts.d.Table
	idleSessions := "SELECT s.id FROM " + t(driver.TableSessions) + " s WHERE s.started < $1 AND NOT EXISTS (SELECT 1 FROM " +
		t(driver.TableEvents) + " e WHERE e.session_id = s.id)"
	idleUsers := "SELECT u.id FROM " + t(driver.TableUsers) + " u WHERE u.joined < $1 AND NOT EXISTS (SELECT 1 FROM " +
		t(driver.TableEvents) + " e WHERE e.user_id = u.user_key) AND NOT EXISTS (SELECT 1 FROM " +
		t(driver.TableSessions) + " s WHERE s.user_id = u.id)"
	for _, c := range []struct{ table, idle, del string }{
		{driver.TableSessions, idleSessions, "WITH d AS (DELETE FROM " + t(driver.TableSessions) + " WHERE id IN (%s LIMIT %d) RETURNING 1) SELECT count(*) FROM d"},
		// A user goes with its personal group (and, by cascade, its
		// memberships).
		{driver.TableUsers, idleUsers, "WITH u AS (DELETE FROM " + t(driver.TableUsers) + " WHERE id IN (%s LIMIT %d) RETURNING group_id)," +
			" g AS (DELETE FROM " + t(driver.TableGroups) + " g USING u WHERE g.id = u.group_id AND g.personal) SELECT count(*) FROM u"},
	} {
		q := "SELECT count(*) FROM (" + c.idle + ") i"
		if !dry {
			q = fmt.Sprintf(c.del, c.idle, driver.RetainBatch)
		}
		for {
			var n int64
			if err := r.DB.GetContext(ctx, &n, q, before); err != nil {
				return err
			}
			rep.Add(c.table, 0, n)
			if dry || n < driver.RetainBatch {
				break
			}
		}
	}
	return nil
}

// Reclaim implements [driver.Retainer]: autovacuum reclaims the space.
func (Retainer) Reclaim(context.Context) error { return nil }
