package pg

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/auditkit/audit/internal/driver"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// RollupLockKey is the advisory lock that serializes the writers of the
// rollups of one schema.
func RollupLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/auditkit/audit/store/postgres rollup " + schema))
	return int64(h.Sum64())
}

// RollupState is what the rollups cover: the hours of [Since, Through),
// and the whole days in it. OK is false before the first build.
type RollupState struct {
	OK                      bool
	Since, Through, Checked time.Time
}

// ReadRollupState returns the coverage of the rollups.
func ReadRollupState(ctx context.Context, db sqlx.QueryerContext, d driver.Dialect) (RollupState, error) {
	var st RollupState
	var since, through, checked driver.ScanTime
	err := db.QueryRowxContext(ctx, "SELECT since, through, checked FROM "+d.Table(driver.TableRollupState)+" WHERE id = 1").
		Scan(&since, &through, &checked)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	return RollupState{OK: true, Since: since.Time, Through: through.Time, Checked: checked.Time}, nil
}

// EarliestEvent returns the time of the oldest event; false when there is
// none.
func EarliestEvent(ctx context.Context, db sqlx.QueryerContext, d driver.Dialect) (time.Time, bool, error) {
	var t *time.Time
	if err := db.QueryRowxContext(ctx, "SELECT min(event_time) FROM "+d.Table(driver.TableEvents)).Scan(&t); err != nil || t == nil {
		return time.Time{}, false, err
	}
	return t.UTC(), true, nil
}

// Roll recomputes the hourly rollups of [from, to) (whole hours) from the
// events, and the daily ones of the whole days in it that the coverage
// holds once [from, to) joins it, in one repeatable-read transaction under
// the schema's rollup lock: it waits for the lock when wait is true, else
// returns false at once when another session holds it. The coverage
// grows by [from, to) when the two touch or overlap; checked, when not
// zero, is recorded as the time of the last count check.
func Roll(ctx context.Context, db *sqlx.DB, d Dialect, schema string, from, to time.Time, wait bool, checked time.Time) (ran bool, err error) {
	// The lock is the session's, taken before the transaction begins: a
	// repeatable-read transaction's snapshot is taken at its first
	// statement, which must then see what the previous holder committed.
	conn, err := db.Connx(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	key := RollupLockKey(schema)
	if wait {
		_, err = conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key)
	} else if err = conn.QueryRowxContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ran); err == nil && !ran {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, uerr := conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1)", key); uerr != nil {
			// Never back to the pool with the lock held: discarded, the
			// connection's session ends and the lock with it.
			conn.Raw(func(any) error { return sqldriver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	st, err := ReadRollupState(ctx, tx, d)
	if err != nil {
		return false, err
	}
	if checked.IsZero() {
		checked = st.Checked
	}
	state := d.Table(driver.TableRollupState)
	switch {
	case !st.OK:
		st = RollupState{OK: true, Since: from, Through: to}
		if checked.IsZero() {
			checked = to
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO "+state+" (id, since, through, checked) VALUES (1, $1, $2, $3)", from, to, checked)
	case !from.After(st.Through) && !to.Before(st.Since):
		st.Since, st.Through = driver.Earliest(st.Since, from), driver.Latest(st.Through, to)
		_, err = tx.ExecContext(ctx, "UPDATE "+state+" SET since = $1, through = $2, checked = $3 WHERE id = 1", st.Since, st.Through, checked)
	}
	if err != nil {
		return false, err
	}
	if from.Before(to) {
		if err := rollHours(ctx, tx, d, from, to); err != nil {
			return false, err
		}
	}
	// The whole days of [from, to) that the coverage holds.
	dfrom, dto := driver.Latest(from.Truncate(driver.Day), st.Since), driver.Earliest(to, st.Through).Truncate(driver.Day)
	if dfrom.Before(dto) {
		if err := rollDays(ctx, tx, d, dfrom, dto); err != nil {
			return false, err
		}
	}
	return true, tx.Commit()
}

func sqlOf(d Dialect, q string) string { return driver.DB{Dialect: d}.SQL(q) }

// rollHours rewrites the hourly rows of [from, to).
func rollHours(ctx context.Context, tx *sqlx.Tx, d Dialect, from, to time.Time) error {
	rs := []driver.Range{{From: from, To: to}}
	for _, r := range driver.Rollups {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+d.Table(r.Table)+" WHERE width = 1 AND bucket >= $1 AND bucket < $2", from, to); err != nil {
			return fmt.Errorf("%s: %w", r.Table, err)
		}
		q, args := driver.RawRollup(d, r, rs)
		if _, err := tx.ExecContext(ctx, sqlOf(d, "INSERT INTO {"+r.Table+"} (width, bucket, "+r.Cols+") SELECT 1, x.* FROM ("+q+") x"), args...); err != nil {
			return fmt.Errorf("%s: %w", r.Table, err)
		}
	}
	// The duration sketches, built here from the durations of the range:
	// of each record type, and of each route.
	w := driver.NewWhere(d)
	w.Window(from, to)
	rows, err := tx.QueryxContext(ctx, sqlOf(d, "SELECT b, t, dur FROM (SELECT "+d.Bucket("e.event_time", time.Hour)+" AS b, e.event_type_id AS t, "+
		driver.DurationSQL(d)+" AS dur FROM {events} e WHERE "+w.String()+") x WHERE dur IS NOT NULL"), w.Args()...)
	if err != nil {
		return err
	}
	sketches, err := readSketches(rows, scanTypeKey[float64], addDuration)
	if err != nil {
		return err
	}
	if err := writeSketches(ctx, tx, d, driver.HourWidth, sketches); err != nil {
		return err
	}
	r := driver.NewWhere(d)
	r.Window(from, to)
	r.Add(strings.ReplaceAll(driver.RouteCond, "{duration}", "x.dur"))
	rows, err = tx.QueryxContext(ctx, sqlOf(d, "SELECT "+d.Bucket("e.event_time", time.Hour)+", e.event_type_id, rp.route, rp.method, x.dur FROM {events} e"+
		driver.RouteJoin+" CROSS JOIN LATERAL (SELECT "+driver.DurationSQL(d)+" AS dur) x WHERE "+r.String()), r.Args()...)
	if err != nil {
		return err
	}
	routes, err := readSketches(rows, scanRouteKey[float64], addDuration)
	if err != nil {
		return err
	}
	return writeRouteSketches(ctx, tx, d, driver.HourWidth, routes)
}

func addDuration(s *ddsketch.DDSketch, dur float64) error { return s.Add(dur) }

func mergeSketch(s *ddsketch.DDSketch, enc []byte) error { return s.DecodeAndMergeWith(enc) }

// readSketches reads rows of a key (read by scan) and a value v, and adds
// each v to the sketch of its key with add; it closes rows.
func readSketches[K comparable, V any](rows *sqlx.Rows, scan func(*sqlx.Rows) (K, V, error), add func(*ddsketch.DDSketch, V) error) (map[K]*ddsketch.DDSketch, error) {
	defer rows.Close()
	sketches := map[K]*ddsketch.DDSketch{}
	for rows.Next() {
		k, v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		s := sketches[k]
		if s == nil {
			s = driver.NewSketch()
			sketches[k] = s
		}
		if err := add(s, v); err != nil {
			return nil, err
		}
	}
	return sketches, rows.Err()
}

type sketchKey struct {
	bucket time.Time
	typ    uuid.UUID
}

// scanTypeKey scans a row of (bucket, event_type_id, v).
func scanTypeKey[V any](rows *sqlx.Rows) (sketchKey, V, error) {
	var k sketchKey
	var b driver.ScanTime
	var v V
	err := rows.Scan(&b, &k.typ, &v)
	k.bucket = b.Time
	return k, v, err
}

// routeKey is a row of rollup_routes within its width.
type routeKey struct {
	bucket    time.Time
	typ       uuid.UUID
	route     string
	method    string
	hasMethod bool
}

// scanRouteKey scans a row of (bucket, event_type_id, route, method, v).
func scanRouteKey[V any](rows *sqlx.Rows) (routeKey, V, error) {
	var k routeKey
	var b driver.ScanTime
	var method *string
	var v V
	err := rows.Scan(&b, &k.typ, &k.route, &method, &v)
	k.bucket = b.Time
	if method != nil {
		k.method, k.hasMethod = *method, true
	}
	return k, v, err
}

func writeSketches(ctx context.Context, tx *sqlx.Tx, d Dialect, width int, sketches map[sketchKey]*ddsketch.DDSketch) error {
	if len(sketches) == 0 {
		return nil
	}
	stmt, err := tx.PreparexContext(ctx, "UPDATE "+d.Table(driver.TableRollupTypes)+" SET dur_n = $1, dur_sketch = $2 WHERE width = $3 AND bucket = $4 AND event_type_id = $5")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for k, s := range sketches {
		if _, err := stmt.ExecContext(ctx, int64(s.GetCount()), driver.EncodeSketch(s), width, k.bucket, d.UUIDArg(k.typ)); err != nil {
			return err
		}
	}
	return nil
}

func writeRouteSketches(ctx context.Context, tx *sqlx.Tx, d Dialect, width int, sketches map[routeKey]*ddsketch.DDSketch) error {
	if len(sketches) == 0 {
		return nil
	}
	stmt, err := tx.PreparexContext(ctx, "UPDATE "+d.Table(driver.TableRollupRoutes)+" SET dur_sketch = $1"+
		" WHERE width = $2 AND bucket = $3 AND event_type_id = $4 AND route = $5 AND method IS NOT DISTINCT FROM $6")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for k, s := range sketches {
		var method *string
		if k.hasMethod {
			method = &k.method
		}
		if _, err := stmt.ExecContext(ctx, driver.EncodeSketch(s), width, k.bucket, d.UUIDArg(k.typ), k.route, method); err != nil {
			return err
		}
	}
	return nil
}

// rollDays rewrites the daily rows of the days of [from, to) (whole days)
// from their hourly rows.
func rollDays(ctx context.Context, tx *sqlx.Tx, d Dialect, from, to time.Time) error {
	day := d.Bucket("bucket", driver.Day)
	for _, r := range driver.Rollups {
		t := d.Table(r.Table)
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE width = 24 AND bucket >= $1 AND bucket < $2", from, to); err != nil {
			return fmt.Errorf("%s: %w", r.Table, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+t+" (width, bucket, "+r.Cols+") SELECT 24, "+day+", "+r.Merge+
			" FROM "+t+" WHERE width = 1 AND bucket >= $1 AND bucket < $2 GROUP BY 2, "+r.Key, from, to); err != nil {
			return fmt.Errorf("%s: %w", r.Table, err)
		}
	}
	rows, err := tx.QueryxContext(ctx, "SELECT "+day+", event_type_id, dur_sketch FROM "+d.Table(driver.TableRollupTypes)+
		" WHERE width = 1 AND bucket >= $1 AND bucket < $2 AND dur_sketch IS NOT NULL", from, to)
	if err != nil {
		return err
	}
	sketches, err := readSketches(rows, scanTypeKey[[]byte], mergeSketch)
	if err != nil {
		return err
	}
	if err := writeSketches(ctx, tx, d, driver.DayWidth, sketches); err != nil {
		return err
	}
	rows, err = tx.QueryxContext(ctx, "SELECT "+day+", event_type_id, route, method, dur_sketch FROM "+d.Table(driver.TableRollupRoutes)+
		" WHERE width = 1 AND bucket >= $1 AND bucket < $2 AND dur_sketch IS NOT NULL", from, to)
	if err != nil {
		return err
	}
	routes, err := readSketches(rows, scanRouteKey[[]byte], mergeSketch)
	if err != nil {
		return err
	}
	return writeRouteSketches(ctx, tx, d, driver.DayWidth, routes)
}

// Stale returns the buckets of the given width (an hour or a day) of the
// coverage [since, through) whose number of events (those the questions
// count) differs from what the rollups count: buckets that events committed
// after their hours were rolled up (or removed since) changed.
func Stale(ctx context.Context, db sqlx.QueryerContext, d Dialect, width time.Duration, since, through time.Time) ([]time.Time, error) {
	counts := map[time.Time]int64{}
	w := driver.NewWhere(d)
	w.Window(since, through)
	q := sqlOf(d, "SELECT "+d.Bucket("e.event_time", width)+", count(*) FROM {events} e WHERE "+w.String()+" GROUP BY 1")
	if err := addCounts(ctx, db, counts, 1, q, w.Args()...); err != nil {
		return nil, err
	}
	q = "SELECT " + d.Bucket("bucket", width) + ", sum(n) FROM " + d.Table(driver.TableRollupTypes) + " WHERE width = 1 AND bucket >= $1 AND bucket < $2 GROUP BY 1"
	if err := addCounts(ctx, db, counts, -1, q, since, through); err != nil {
		return nil, err
	}
	var out []time.Time
	for t, n := range counts {
		if n != 0 {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out, nil
}

func addCounts(ctx context.Context, db sqlx.QueryerContext, counts map[time.Time]int64, sign int64, q string, args ...any) error {
	rows, err := db.QueryxContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var t driver.ScanTime
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return err
		}
		counts[t.Time] += sign * n
	}
	return rows.Err()
}

// AnalyzeRollups updates the planner's statistics of the rollup tables,
// after a build wrote most of their rows at once.
func AnalyzeRollups(ctx context.Context, db sqlx.ExecerContext, d Dialect) error {
	for _, r := range driver.Rollups {
		if _, err := db.ExecContext(ctx, "ANALYZE "+d.Table(r.Table)); err != nil {
			return err
		}
	}
	return nil
}

// RollupCoverage implements [driver.RollupReader].
func (d Dialect) RollupCoverage(ctx context.Context, db sqlx.QueryerContext) (since, through time.Time, ok bool, err error) {
	st, err := ReadRollupState(ctx, db, d)
	if IsUndefined(err) {
		return since, through, false, nil
	}
	return st.Since, st.Through, st.OK, err
}

var _ driver.RollupReader = Dialect{}
