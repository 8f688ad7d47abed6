package pg

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/auditkit/audit/internal/driver"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// Conn is a Postgres connection pool as the store uses it: reads and short
// statements through DB, batches through WriteBatch.
type Conn interface {
	// DB returns the pool as a database/sql handle.
	DB() *sqlx.DB
	// WriteBatch writes the events and their param values in one
	// transaction with COPY. With skipStored, it first leaves out the
	// events already stored. With a chain writer ch (whose Mu the caller
	// holds and whose head is loaded), the transaction also inserts the
	// digest record of exactly the events it writes, and WriteBatch returns
	// it (nil when nothing was left to write). Errors are the driver's.
	WriteBatch(ctx context.Context, rows []driver.EventRow, skipStored bool, ch *driver.ChainWriter) (*driver.Digest, error)
	// Close closes what the Conn opened itself (not the caller's pool).
	Close() error
}

// NewPQ returns a Conn on a lib/pq pool.
func NewPQ(db *sqlx.DB, d Dialect) Conn {
	return &pqConn{db: db, d: d,
		copyEvents: copyStmt(d.Table(driver.TableEvents), driver.EventColumns),
		copyValues: copyStmt(d.Table(driver.TableValues), ValueColumns)}
}

func copyStmt(table string, cols []string) string {
	return "COPY " + table + " (" + strings.Join(cols, ", ") + ") FROM STDIN"
}

type pqConn struct {
	db                     *sqlx.DB
	d                      Dialect
	copyEvents, copyValues string
}

func (c *pqConn) DB() *sqlx.DB { return c.db }
func (c *pqConn) Close() error { return nil }

func (c *pqConn) WriteBatch(ctx context.Context, rows []driver.EventRow, skipStored bool, ch *driver.ChainWriter) (dg *driver.Digest, err error) {
	if skipStored {
		if rows, err = unstored(ctx, c.db, c.d, rows); err != nil || len(rows) == 0 {
			return nil, err
		}
	}
	if ch != nil {
		dg = ch.Seal(rows)
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	ids := idArgs{d: c.d}
	if err := copyIn(ctx, tx, c.copyEvents, &eventSource{rows: rows, ids: &ids}); err != nil {
		return nil, err
	}
	if hasValues(rows) {
		if err := copyIn(ctx, tx, c.copyValues, &valueSource{rows: rows, ids: &ids}); err != nil {
			return nil, err
		}
	}
	if dg != nil {
		if err := driver.InsertDigest(ctx, c.d, tx, dg); err != nil {
			return nil, err
		}
	}
	return dg, tx.Commit()
}

// copyIn runs one lib/pq COPY of the rows of src.
func copyIn(ctx context.Context, tx *sql.Tx, stmt string, src pgx.CopyFromSource) error {
	st, err := tx.PrepareContext(ctx, stmt)
	if err != nil {
		return err
	}
	for src.Next() {
		row, _ := src.Values()
		if _, err := st.ExecContext(ctx, row...); err != nil {
			st.Close()
			return err
		}
	}
	if _, err := st.ExecContext(ctx); err != nil {
		st.Close()
		return err
	}
	return st.Close()
}

// ValueColumns are the event_parameter_values columns the store writes:
// [driver.ValueColumns] and event_time, the event's time (the partition
// key).
var ValueColumns = append(driver.ValueColumns[:len(driver.ValueColumns):len(driver.ValueColumns)], "event_time")

func hasValues(rows []driver.EventRow) bool {
	for i := range rows {
		if len(rows[i].Values) > 0 {
			return true
		}
	}
	return false
}

// idArgs converts the registry ids of a batch (types, params: a few, met
// on every row) to arguments once each.
type idArgs struct {
	d    Dialect
	args map[uuid.UUID]any
}

func (a *idArgs) arg(id uuid.UUID) any {
	if v, ok := a.args[id]; ok {
		return v
	}
	if a.args == nil {
		a.args = make(map[uuid.UUID]any)
	}
	v := a.d.UUIDArg(id)
	a.args[id] = v
	return v
}

// eventSource streams the events rows of a batch to COPY, each built in
// the same slice: both drivers encode a row before asking for the next.
type eventSource struct {
	rows []driver.EventRow
	ids  *idArgs
	i    int
	row  []any
}

func (s *eventSource) Next() bool {
	if s.i >= len(s.rows) {
		return false
	}
	r := &s.rows[s.i]
	s.i++
	s.row = r.AppendArgs(s.row[:0], s.ids.d, s.ids.arg(r.TypeID))
	return true
}

func (s *eventSource) Values() ([]any, error) { return s.row, nil }
func (s *eventSource) Err() error             { return nil }

// valueSource streams the param value rows of a batch to COPY, as
// eventSource does, converting each event's id once for all its values.
type valueSource struct {
	rows    []driver.EventRow
	ids     *idArgs
	i, j    int // the next value: rows[i].Values[j]
	eventID any
	row     []any
}

func (s *valueSource) Next() bool {
	for s.i < len(s.rows) {
		r := &s.rows[s.i]
		if s.j < len(r.Values) {
			if s.j == 0 {
				s.eventID = s.ids.d.UUIDArg(r.ID)
			}
			v := &r.Values[s.j]
			s.j++
			s.row = append(v.AppendArgs(s.row[:0], s.ids.d, s.eventID, s.ids.arg(v.ParameterID)), s.ids.d.TimeArg(r.Time))
			return true
		}
		s.i, s.j = s.i+1, 0
	}
	return false
}

func (s *valueSource) Values() ([]any, error) { return s.row, nil }
func (s *valueSource) Err() error             { return nil }

// unstored returns the rows whose events are not stored yet. It reads
// outside the batch's transaction: a stored event stays stored, and one
// committed by another writer meanwhile fails the COPY on events_pkey, for
// the store to try again.
func unstored(ctx context.Context, db *sqlx.DB, d Dialect, rows []driver.EventRow) ([]driver.EventRow, error) {
	ids := make([]string, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID.String()
	}
	// By id alone: an id stored with another time is stored too. Each
	// partition has a unique index on id.
	var stored []string
	q := "SELECT id::text FROM " + d.Table(driver.TableEvents) + " WHERE id = ANY(string_to_array($1, ',')::uuid[])"
	if err := db.SelectContext(ctx, &stored, q, strings.Join(ids, ",")); err != nil {
		return nil, err
	}
	done := make(map[string]bool, len(stored))
	for _, id := range stored {
		done[id] = true
	}
	kept := rows[:0:0]
	for i, r := range rows {
		if !done[ids[i]] {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// NewPgx returns a Conn on a pgx v5 pool: batches are written with
// CopyFrom, everything else goes through pgx's database/sql adapter on the
// same pool.
func NewPgx(pool *pgxpool.Pool, d Dialect, schema string) Conn {
	return &pgxConn{pool: pool, d: d, schema: schema,
		db: sqlx.NewDb(stdlib.OpenDBFromPool(pool), "pgx")}
}

type pgxConn struct {
	pool   *pgxpool.Pool
	db     *sqlx.DB
	d      Dialect
	schema string
}

func (c *pgxConn) DB() *sqlx.DB { return c.db }

// Close closes the database/sql adapter, which leaves the pool open.
func (c *pgxConn) Close() error { return c.db.Close() }

func (c *pgxConn) WriteBatch(ctx context.Context, rows []driver.EventRow, skipStored bool, ch *driver.ChainWriter) (dg *driver.Digest, err error) {
	if skipStored {
		if rows, err = unstored(ctx, c.db, c.d, rows); err != nil || len(rows) == 0 {
			return nil, err
		}
	}
	if ch != nil {
		dg = ch.Seal(rows)
	}
	tx, err := c.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	ids := idArgs{d: c.d}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{c.schema, driver.TableEvents}, driver.EventColumns, &eventSource{rows: rows, ids: &ids})
	if err != nil {
		return nil, err
	}
	if hasValues(rows) {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.schema, driver.TableValues}, ValueColumns, &valueSource{rows: rows, ids: &ids}); err != nil {
			return nil, err
		}
	}
	if dg != nil {
		if _, err := tx.Exec(ctx, driver.InsertValues(c.d, driver.TableDigests, driver.DigestColumns, 1, ""), dg.Args(c.d)...); err != nil {
			return nil, err
		}
	}
	return dg, tx.Commit(ctx)
}

// Pool returns the pgx pool.
func (c *pgxConn) Pool() *pgxpool.Pool { return c.pool }

func init() { driver.BinaryRows = binaryRows }

// binaryRows implements [driver.BinaryRows] on a pgx connection: the rows
// come in binary format and reach fn as pgx read them, without a copy.
// The transaction the setup begins is rolled back at the end; a
// connection where that fails is closed, not given back to the pool in a
// transaction.
func binaryRows(ctx context.Context, dc any, setup []string, query string, args []any, fn func(cols [][]byte) error) (bool, error) {
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		return false, nil
	}
	conn := sc.Conn()
	defer func() {
		end, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(end, "ROLLBACK"); err != nil {
			conn.Close(end)
		}
	}()
	for _, stmt := range setup {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return true, err
		}
	}
	rows, err := conn.Query(ctx, query, append([]any{pgx.QueryResultFormats{pgx.BinaryFormatCode}}, args...)...)
	if err != nil {
		return true, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.RawValues()); err != nil {
			return true, err
		}
	}
	return true, rows.Err()
}
