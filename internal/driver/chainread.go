package driver

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// ChainReader reads the digest chain and the events it covers in one
// read-only snapshot, so that batches committed while it reads are either
// wholly seen or not at all.
type ChainReader struct {
	tx     *sqlx.Tx
	d      Dialect
	cursor int
}

// OpenChainReader begins the snapshot. Close ends it.
func OpenChainReader(ctx context.Context, db DB) (*ChainReader, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.Cursors() {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.BeginTxx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &ChainReader{tx: tx, d: db.Dialect}, nil
}

// Close ends the snapshot.
func (r *ChainReader) Close() error { return r.tx.Rollback() }

const digestSelect = "id, writer, seq, kind, created, events, first_time, last_time, prev_hash, events_hash, expiry, hash, signature"

type digestScan struct {
	d           Digest
	created     ScanTime
	first, last *ScanTime
	expiry      sql.NullString
}

func (s *digestScan) dest() []any {
	return []any{&s.d.ID, &s.d.Writer, &s.d.Seq, &s.d.Kind, &s.created, &s.d.Events, &s.first, &s.last,
		&s.d.PrevHash, &s.d.EventsHash, &s.expiry, &s.d.Hash, &s.d.Signature}
}

func (s *digestScan) digest() *Digest {
	d := s.d
	d.Created = s.created.Time
	if s.first != nil {
		d.First = s.first.Time
	}
	if s.last != nil {
		d.Last = s.last.Time
	}
	d.Expiry = s.expiry.String
	return &d
}

// Records calls fn with every record, without its entries, by writer and
// seq.
func (r *ChainReader) Records(ctx context.Context, fn func(*Digest) error) error {
	rows, err := r.tx.QueryContext(ctx, "SELECT "+digestSelect+" FROM "+r.d.Table(TableDigests)+" ORDER BY writer, seq")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s digestScan
		if err := rows.Scan(s.dest()...); err != nil {
			return err
		}
		if err := fn(s.digest()); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Stream is a cursor over the rows of a query in the reader's snapshot.
// On Postgres it fetches pages of a server-side cursor, so that two
// streams advance together on the one connection; elsewhere it steps the
// query's rows.
type Stream[T any] struct {
	r     *ChainReader
	name  string
	rows  *sql.Rows
	scan  func(*sql.Rows) (T, error)
	buf   []T
	i     int
	done  bool
	fetch string
}

const streamPage = 2000

func openStream[T any](ctx context.Context, r *ChainReader, query string, args []any, scan func(*sql.Rows) (T, error)) (*Stream[T], error) {
	s := &Stream[T]{r: r, scan: scan}
	query = Rebind(r.d, query)
	if !r.d.Cursors() {
		rows, err := r.tx.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		s.rows = rows
		return s, nil
	}
	r.cursor++
	s.name = fmt.Sprintf("audit_chain_%d", r.cursor)
	s.fetch = fmt.Sprintf("FETCH FORWARD %d FROM %s", streamPage, s.name)
	if _, err := r.tx.ExecContext(ctx, "DECLARE "+s.name+" NO SCROLL CURSOR FOR "+query, args...); err != nil {
		return nil, err
	}
	return s, nil
}

// Next returns the next row; ok is false at the end.
func (s *Stream[T]) Next(ctx context.Context) (v T, ok bool, err error) {
	if s.rows != nil && s.name == "" {
		if !s.rows.Next() {
			return v, false, s.rows.Err()
		}
		v, err = s.scan(s.rows)
		return v, err == nil, err
	}
	if s.i == len(s.buf) {
		if s.done {
			return v, false, nil
		}
		if err := s.page(ctx); err != nil || len(s.buf) == 0 {
			return v, false, err
		}
	}
	v = s.buf[s.i]
	s.i++
	return v, true, nil
}

func (s *Stream[T]) page(ctx context.Context) error {
	rows, err := s.r.tx.QueryContext(ctx, s.fetch)
	if err != nil {
		return err
	}
	defer rows.Close()
	s.buf, s.i = s.buf[:0], 0
	for rows.Next() {
		v, err := s.scan(rows)
		if err != nil {
			return err
		}
		s.buf = append(s.buf, v)
	}
	s.done = len(s.buf) < streamPage
	return rows.Err()
}

// Close closes the stream.
func (s *Stream[T]) Close() {
	if s.rows != nil {
		s.rows.Close()
	}
}

// Batches streams the batch records created at or after since (all for
// the zero time), with their entries, by id.
func (r *ChainReader) Batches(ctx context.Context, since time.Time) (*Stream[*Digest], error) {
	q := "SELECT " + digestSelect + ", entries FROM " + r.d.Table(TableDigests) + " WHERE kind = ? AND created >= ? ORDER BY id"
	return openStream(ctx, r, q, []any{DigestBatch, r.d.TimeArg(since)}, func(rows *sql.Rows) (*Digest, error) {
		var s digestScan
		if err := rows.Scan(append(s.dest(), &s.d.Entries)...); err != nil {
			return nil, err
		}
		return s.digest(), nil
	})
}

// ChainRow is one row of [ChainReader.Events]: an event and one of its
// param values (Param false when it has none).
type ChainRow struct {
	Digest    uuid.NullUUID
	ID        uuid.UUID
	Session   uuid.NullUUID
	Started   bool   // a well-formed datagrok-started event of the store
	Cols      []any  // the events columns, canonical, as [EventHasher.Event] takes them
	Type, Raw any    // the event_types name
	Param     bool   // a value follows
	Name      any    // the param's name, name_raw and type
	NameRaw   any    // (NULL when its event_parameters row is missing)
	PType     any    //
	Value     []any  // the value's columns, canonical
	Synthetic string // events.comment
}

const chainEventsSelect = `SELECT e.digest_id, e.id, e.event_time, e.event_type_id, e.session_id,
 e.description, e.description_raw, e.error_message, e.is_error,
 e.error_stack_trace, e.error_stack_trace_raw, e.error_stack_trace_hash, e.error_stack_trace_hash_raw,
 e.level, e.user_id, e.user_id_raw, e.duration_ns, e.friendly_name, e.comment,
 t.friendly_name, t.friendly_name_raw,
 v.parameter_id, p.name, p.name_raw, p.type, v.value, v.value_raw, v.value_uuid, v.entity_kind, v.entity_kind_raw
FROM {events} e
LEFT JOIN {event_types} t ON t.id = e.event_type_id
LEFT JOIN {event_parameter_values} v ON v.event_id = e.id
LEFT JOIN {event_parameters} p ON p.id = v.parameter_id`

// Events streams the events with their values, by digest_id (those with
// none last), id and parameter_id: with a since time, only the events of
// the batches created since and the events of no batch that happened
// since.
func (r *ChainReader) Events(ctx context.Context, since time.Time) (*Stream[ChainRow], error) {
	q := DB{Dialect: r.d}.SQL(chainEventsSelect)
	var args []any
	if !since.IsZero() {
		q += " WHERE (e.digest_id IS NULL AND e.event_time >= ?) OR e.digest_id IN (SELECT id FROM " + r.d.Table(TableDigests) + " WHERE created >= ?)"
		args = []any{r.d.TimeArg(since), r.d.TimeArg(since)}
	}
	q += " ORDER BY e.digest_id NULLS LAST, e.id, v.parameter_id"
	return openStream(ctx, r, q, args, scanChainRow)
}

func scanChainRow(rows *sql.Rows) (ChainRow, error) {
	var (
		row                                     ChainRow
		t                                       ScanTime
		typeID, pid, vuuid                      uuid.NullUUID
		desc, errMsg, stack, fp, level, user    sql.NullString
		friendly, comment, tname, pname, ptype  sql.NullString
		value, kind                             sql.NullString
		descRaw, stackRaw, fpRaw, userRaw, tRaw []byte
		pRaw, vRaw, kRaw                        []byte
		isErr                                   sql.NullBool
		dur                                     sql.NullInt64
	)
	if err := rows.Scan(&row.Digest, &row.ID, &t, &typeID, &row.Session,
		&desc, &descRaw, &errMsg, &isErr, &stack, &stackRaw, &fp, &fpRaw,
		&level, &user, &userRaw, &dur, &friendly, &comment, &tname, &tRaw,
		&pid, &pname, &pRaw, &ptype, &value, &vRaw, &vuuid, &kind, &kRaw); err != nil {
		return row, err
	}
	row.Cols = []any{[16]byte(row.ID), t.UnixMicro(), nullUUID(typeID), nullUUID(row.Session),
		nullString(desc), nullBytes(descRaw), nullString(errMsg), nullBool(isErr),
		nullString(stack), nullBytes(stackRaw), nullString(fp), nullBytes(fpRaw),
		nullString(level), nullString(user), nullBytes(userRaw), nullInt(dur), nullString(friendly), nullString(comment)}
	row.Type, row.Raw = nullString(tname), nullBytes(tRaw)
	row.Synthetic = comment.String
	row.Started = comment.String == SyntheticComment && tname.String == StartedType &&
		row.Session.Valid && row.ID == StartedID(row.Session.UUID)
	if pid.Valid {
		row.Param = true
		row.Name, row.NameRaw, row.PType = nullString(pname), nullBytes(pRaw), nullString(ptype)
		row.Value = []any{[16]byte(row.ID), nullUUID(pid), nullString(value), nullBytes(vRaw), nullUUID(vuuid), nullString(kind), nullBytes(kRaw)}
	}
	return row, nil
}

func nullUUID(u uuid.NullUUID) any {
	if !u.Valid {
		return nil
	}
	return [16]byte(u.UUID)
}

func nullString(s sql.NullString) any {
	if !s.Valid {
		return nil
	}
	return s.String
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func nullBool(b sql.NullBool) any {
	if !b.Valid {
		return nil
	}
	return b.Bool
}

func nullInt(n sql.NullInt64) any {
	if !n.Valid {
		return nil
	}
	return n.Int64
}

// Level returns the level of an event row, 0 when it is not one.
func (r *ChainRow) Level() audit.Level {
	if s, ok := r.Cols[12].(string); ok {
		if l, err := audit.ParseLevel(s); err == nil {
			return l
		}
	}
	return 0
}
