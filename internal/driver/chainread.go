package driver

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
	db     *sqlx.DB
	d      Dialect
	cursor int
	// snapshot is the id of the snapshot that streams import on
	// connections of their own; "" when they use cursors on tx.
	snapshot string
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
	r := &ChainReader{tx: tx, db: db.DB, d: db.Dialect}
	if !db.Cursors() || !(db.Stats().MaxOpenConnections == 0 || db.Stats().MaxOpenConnections >= 3) {
		return r, nil
	}
	if err := tx.QueryRowContext(ctx, "SELECT pg_export_snapshot()").Scan(&r.snapshot); err == nil && snapshotID(r.snapshot) {
		return r, nil
	}
	// Not exported (a standby may refuse): the streams use cursors, in a
	// transaction of their own, as the failed query ended this one.
	tx.Rollback()
	if r.tx, err = db.BeginTxx(ctx, opts); err != nil {
		return nil, err
	}
	r.snapshot = ""
	return r, nil
}

// snapshotID reports whether id has the form of a snapshot id (hex digits
// and dashes), which SET TRANSACTION SNAPSHOT takes quoted.
func snapshotID(id string) bool {
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f' || c == '-') {
			return false
		}
	}
	return id != ""
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
	return r.records(ctx, " ORDER BY writer, seq", nil, fn)
}

// BatchHeads calls fn with every batch record created at or after since
// (all for the zero time), without its entries.
func (r *ChainReader) BatchHeads(ctx context.Context, since time.Time, fn func(*Digest) error) error {
	return r.records(ctx, " WHERE kind = ? AND created >= ?", []any{DigestBatch, r.d.TimeArg(since)}, fn)
}

func (r *ChainReader) records(ctx context.Context, where string, args []any, fn func(*Digest) error) error {
	rows, err := r.tx.QueryContext(ctx, Rebind(r.d, "SELECT "+digestSelect+" FROM "+r.d.Table(TableDigests)+where), args...)
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
// On Postgres, when the pool allows two more connections, each stream
// reads on a connection of its own that imports the reader's snapshot
// (pg_export_snapshot), decoding pages of rows in a goroutine ahead of
// the caller, in binary format on a pgx pool; else it fetches pages of a
// server-side cursor, so that two streams advance together on the one
// connection; elsewhere it steps the query's rows. A row's bytes are
// valid until the next call of Next.
type Stream[T any] struct {
	r     *ChainReader
	name  string
	rows  *sql.Rows
	sc    scanner[T]
	buf   []T
	arena []byte
	i     int
	done  bool
	fetch string

	// On a connection of its own: pages come from the goroutine on pages,
	// and go back to it on free once read.
	pages  chan *page[T]
	free   chan *page[T]
	cur    *page[T]
	cancel context.CancelFunc
	ended  chan struct{}
}

// scanner decodes the rows of one query: from database/sql rows (text on
// lib/pq), or from the raw binary columns of a pgx row.
type scanner[T any] interface {
	scan(rows *sql.Rows, arena []byte) (T, []byte, error)
	binary(cols [][]byte, arena []byte) (T, []byte, error)
}

// page is a run of decoded rows and the bytes they point into.
type page[T any] struct {
	rows  []T
	arena []byte
	err   error
}

const streamPage = 5000

func openStream[T any](ctx context.Context, r *ChainReader, query string, args []any, sc scanner[T]) (*Stream[T], error) {
	s := &Stream[T]{r: r, sc: sc}
	query = Rebind(r.d, query)
	if r.snapshot != "" {
		if ok, err := s.start(ctx, query, args); ok || err != nil {
			return s, err
		}
	}
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

// start takes a connection, begins a transaction on the reader's
// snapshot and runs query in a goroutine that sends pages of decoded rows
// until the end, an error or Close. It reports false, for the stream to
// use a cursor instead, when the pool gives no connection within
// [streamConnWait] (it may hold no more than the reader's).
func (s *Stream[T]) start(ctx context.Context, query string, args []any) (bool, error) {
	wait, cancel := context.WithTimeout(ctx, streamConnWait)
	conn, err := s.r.db.Conn(wait)
	cancel()
	if err != nil {
		return false, ctx.Err()
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.pages, s.free, s.ended = make(chan *page[T], 1), make(chan *page[T], 3), make(chan struct{})
	for range 3 {
		s.free <- &page[T]{rows: make([]T, 0, streamPage)}
	}
	go func() {
		defer close(s.ended)
		defer conn.Close()
		err := s.produce(ctx, conn, query, args)
		if err == nil || ctx.Err() == nil {
			select {
			case s.pages <- &page[T]{err: err}: // nil: the end
			case <-ctx.Done():
			}
		}
	}()
	return true, nil
}

// streamConnWait bounds the wait for a stream's own connection.
const streamConnWait = 500 * time.Millisecond

// produce runs query on conn in the snapshot and sends its rows.
func (s *Stream[T]) produce(ctx context.Context, conn *sql.Conn, query string, args []any) error {
	setup := []string{"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "SET TRANSACTION SNAPSHOT '" + s.r.snapshot + "'"}
	var p *page[T]
	emit := func(v T, arena []byte, err error) error {
		p.arena = arena
		if err != nil {
			return err
		}
		p.rows = append(p.rows, v)
		if len(p.rows) < streamPage {
			return nil
		}
		select {
		case s.pages <- p:
		case <-ctx.Done():
			return ctx.Err()
		}
		return s.next(ctx, &p)
	}
	if err := s.next(ctx, &p); err != nil {
		return err
	}
	binary := false
	if BinaryRows != nil {
		err := conn.Raw(func(dc any) error {
			var err error
			binary, err = BinaryRows(ctx, dc, setup, query, args, func(cols [][]byte) error {
				return emit(s.sc.binary(cols, p.arena))
			})
			return err
		})
		if binary || err != nil {
			return s.flush(ctx, p, err)
		}
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, setup[1]); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := emit(s.sc.scan(rows, p.arena)); err != nil {
			return err
		}
	}
	return s.flush(ctx, p, rows.Err())
}

// next takes a free page into *p.
func (s *Stream[T]) next(ctx context.Context, p **page[T]) error {
	select {
	case *p = <-s.free:
		(*p).rows, (*p).arena = (*p).rows[:0], (*p).arena[:0]
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush sends the last page, when it has rows and err is nil.
func (s *Stream[T]) flush(ctx context.Context, p *page[T], err error) error {
	if err != nil || len(p.rows) == 0 {
		return err
	}
	select {
	case s.pages <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// BinaryRows, set by the Postgres driver package, runs the setup
// statements and then query on dc, a connection of the pool as
// [sql.Conn.Raw] gives it, and calls fn with the columns of each row in
// binary format (nil for NULL), when dc is a pgx connection; ok is false,
// with nothing run, when it is not.
var BinaryRows func(ctx context.Context, dc any, setup []string, query string, args []any, fn func(cols [][]byte) error) (ok bool, err error)

// Next returns the next row; ok is false at the end.
func (s *Stream[T]) Next(ctx context.Context) (v T, ok bool, err error) {
	if s.pages != nil {
		return s.nextPage(ctx)
	}
	if s.name == "" {
		if !s.rows.Next() {
			return v, false, s.rows.Err()
		}
		v, s.arena, err = s.sc.scan(s.rows, s.arena[:0])
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

func (s *Stream[T]) nextPage(ctx context.Context) (v T, ok bool, err error) {
	for s.cur == nil || s.i == len(s.cur.rows) {
		if s.done {
			return v, false, nil
		}
		if s.cur != nil {
			s.free <- s.cur // the caller is done with its rows
			s.cur = nil
		}
		select {
		case p := <-s.pages:
			if p.rows == nil {
				s.done = true
				return v, false, p.err
			}
			s.cur, s.i = p, 0
		case <-ctx.Done():
			return v, false, ctx.Err()
		}
	}
	v = s.cur.rows[s.i]
	s.i++
	return v, true, nil
}

func (s *Stream[T]) page(ctx context.Context) error {
	rows, err := s.r.tx.QueryContext(ctx, s.fetch)
	if err != nil {
		return err
	}
	defer rows.Close()
	s.buf, s.i, s.arena = s.buf[:0], 0, s.arena[:0]
	if cap(s.arena) > 0 {
		// Rows of the last page keep their bytes until they are read:
		// give this page a new arena of the same size.
		s.arena = make([]byte, 0, cap(s.arena))
	}
	for rows.Next() {
		var v T
		v, s.arena, err = s.sc.scan(rows, s.arena)
		if err != nil {
			return err
		}
		s.buf = append(s.buf, v)
	}
	s.done = len(s.buf) < streamPage
	return rows.Err()
}

// Close closes the stream, ending its goroutine, if any.
func (s *Stream[T]) Close() {
	if s.rows != nil {
		s.rows.Close()
	}
	if s.cancel != nil {
		s.cancel()
		<-s.ended
	}
}

// Entries returns the entries of record id.
func (r *ChainReader) Entries(ctx context.Context, id uuid.UUID) ([]byte, error) {
	var b []byte
	err := r.tx.QueryRowContext(ctx, Rebind(r.d, "SELECT entries FROM "+r.d.Table(TableDigests)+" WHERE id = ?"), r.d.UUIDArg(id)).Scan(&b)
	return b, err
}

// Name is the stored name of an event type or a param, and a param's type,
// each nil for NULL.
type Name struct{ Text, Raw, Type any }

// Names returns the names of the event types and of the params, by id.
func (r *ChainReader) Names(ctx context.Context) (types, params map[uuid.UUID]Name, err error) {
	types, params = map[uuid.UUID]Name{}, map[uuid.UUID]Name{}
	for _, q := range []struct {
		m     map[uuid.UUID]Name
		param bool
		sql   string
	}{
		{types, false, "SELECT id, friendly_name, friendly_name_raw, NULL FROM " + r.d.Table(TableEventTypes)},
		{params, true, "SELECT id, name, name_raw, type FROM " + r.d.Table(TableEventParameters)},
	} {
		rows, err := r.tx.QueryContext(ctx, q.sql)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			var id uuid.UUID
			var text, typ sql.NullString
			var raw []byte
			if err := rows.Scan(&id, &text, &raw, &typ); err != nil {
				rows.Close()
				return nil, nil, err
			}
			n := Name{Text: nullString(text), Raw: nullBytes(raw)}
			if q.param {
				n.Type = nullString(typ)
			}
			q.m[id] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	return types, params, nil
}

// ChainEvent is one events row of [ChainReader.Events]: the fields the
// verifier reads, and Enc, the canonical encoding of the columns the
// writer hashes (as [EventHasher.Event] encodes them).
type ChainEvent struct {
	Digest    uuid.NullUUID
	ID        uuid.UUID
	Time      time.Time
	Level     audit.Level // 0 when the column is not a level
	Type      uuid.UUID
	Session   uuid.NullUUID
	Synthetic bool // comment is SyntheticComment
	Enc       []byte
}

// ChainValue is one event_parameter_values row of [ChainReader.Values],
// with Enc the canonical encoding of its columns.
type ChainValue struct {
	Event, Param uuid.UUID
	Enc          []byte
}

const chainEventColumns = `digest_id, id, event_time, event_type_id, session_id,
 description, description_raw, error_message, is_error,
 error_stack_trace, error_stack_trace_raw, error_stack_trace_hash, error_stack_trace_hash_raw,
 level, user_id, user_id_raw, duration_ns, friendly_name, comment`

// EventFilter picks the events of [ChainReader.Events] and the values of
// [ChainReader.Values]: those of the records created since Since (with
// the events of no record that happened since), or those of IDs.
type EventFilter struct {
	Since time.Time
	IDs   []uuid.UUID
	// Digest: the events that name this record.
	Digest uuid.UUID
}

func (r *ChainReader) where(f EventFilter, idCol, digestCol, timeCol string) (string, []any) {
	switch {
	case len(f.IDs) > 0:
		args := make([]any, len(f.IDs))
		for i, id := range f.IDs {
			args[i] = r.d.UUIDArg(id)
		}
		return " WHERE " + idCol + " IN (" + Placeholders(len(args)) + ")", args
	case f.Digest != uuid.Nil:
		return " WHERE " + digestCol + " = ?", []any{r.d.UUIDArg(f.Digest)}
	case !f.Since.IsZero():
		return " WHERE (" + digestCol + " IS NULL AND " + timeCol + " >= ?) OR " + digestCol + " IN (SELECT id FROM " + r.d.Table(TableDigests) + " WHERE created >= ?)",
			[]any{r.d.TimeArg(f.Since), r.d.TimeArg(f.Since)}
	}
	return "", nil
}

// Events streams the events the filter picks, by id.
func (r *ChainReader) Events(ctx context.Context, f EventFilter) (*Stream[ChainEvent], error) {
	w, args := r.where(f, "id", "digest_id", "event_time")
	q := "SELECT " + chainEventColumns + " FROM " + r.d.Table(TableEvents) + w + " ORDER BY id"
	return openStream[ChainEvent](ctx, r, q, args, &eventScan{})
}

// Values streams the param values of the events the filter picks, by
// event_id and parameter_id.
func (r *ChainReader) Values(ctx context.Context, f EventFilter) (*Stream[ChainValue], error) {
	q := "SELECT v.event_id, v.parameter_id, v.value, v.value_raw, v.value_uuid, v.entity_kind, v.entity_kind_raw FROM " + r.d.Table(TableValues) + " v"
	var args []any
	if len(f.IDs) > 0 {
		var w string
		w, args = r.where(f, "v.event_id", "", "")
		q += w
	} else if f.Digest != uuid.Nil || !f.Since.IsZero() {
		var w string
		w, args = r.where(f, "", "e.digest_id", "e.event_time")
		q += " JOIN " + r.d.Table(TableEvents) + " e ON e.id = v.event_id" + w
	}
	q += " ORDER BY v.event_id, v.parameter_id"
	return openStream[ChainValue](ctx, r, q, args, &valueScan{})
}

// eventScan holds the scan destinations of events rows, reused.
type eventScan struct {
	digest, id, typ, session             sql.RawBytes
	t                                    ScanTime
	descRaw, stackRaw, fpRaw, userRaw    sql.RawBytes
	desc, errMsg, stack, fp, level, user sql.NullString
	friendly, comment                    sql.NullString
	isErr                                sql.NullBool
	dur                                  sql.NullInt64
	dest                                 []any
}

func (s *eventScan) scan(rows *sql.Rows, b []byte) (ChainEvent, []byte, error) {
	if s.dest == nil {
		s.dest = []any{&s.digest, &s.id, &s.t, &s.typ, &s.session, &s.desc, &s.descRaw, &s.errMsg, &s.isErr,
			&s.stack, &s.stackRaw, &s.fp, &s.fpRaw, &s.level, &s.user, &s.userRaw, &s.dur, &s.friendly, &s.comment}
	}
	clearRaw(s.dest)
	if err := rows.Scan(s.dest...); err != nil {
		return ChainEvent{}, b, err
	}
	f := eventFields[string]{t: s.t.Time, isErr: s.isErr, dur: s.dur,
		desc: textOf(s.desc), errMsg: textOf(s.errMsg), stack: textOf(s.stack), fp: textOf(s.fp),
		level: textOf(s.level), user: textOf(s.user), friendly: textOf(s.friendly), comment: textOf(s.comment),
		descRaw: s.descRaw, stackRaw: s.stackRaw, fpRaw: s.fpRaw, userRaw: s.userRaw,
		lvl: levelOf(s.level.String), synthetic: s.comment.String == SyntheticComment}
	var ids idDecoder
	f.digest, f.id, f.typ, f.session = ids.raw(s.digest), ids.raw(s.id), ids.raw(s.typ), ids.raw(s.session)
	if ids.err != nil {
		return ChainEvent{}, b, ids.err
	}
	return f.encode(b)
}

// appendInt and appendBool encode as [appendField] does, without boxing
// the value.
func appendInt(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(append(b, tagInt), uint64(v))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, tagBool, 1)
	}
	return append(b, tagBool, 0)
}

// idDecoder decodes the id columns of a row, keeping the first error.
type idDecoder struct{ err error }

// raw decodes an id of database/sql ([rawUUID]).
func (d *idDecoder) raw(b sql.RawBytes) uuid.NullUUID {
	if d.err != nil {
		return uuid.NullUUID{}
	}
	var u uuid.NullUUID
	u, d.err = rawUUID(b)
	return u
}

// bin decodes an id of pgx's binary format ([binUUID]).
func (d *idDecoder) bin(b []byte) uuid.NullUUID {
	if d.err != nil {
		return uuid.NullUUID{}
	}
	var u uuid.NullUUID
	u, d.err = binUUID(b)
	return u
}

// text is a text column decoded as S (a string, or its bytes); ok is false
// for NULL.
type text[S string | []byte] struct {
	v  S
	ok bool
}

func textOf(s sql.NullString) text[string] { return text[string]{s.String, s.Valid} }

// binText is a text column of pgx's binary format: its bytes, nil for
// NULL.
func binText(b []byte) text[[]byte] { return text[[]byte]{b, b != nil} }

// appendText encodes a text column as [appendField] does a string.
func appendText[S string | []byte](b []byte, t text[S]) []byte {
	if !t.ok {
		return append(b, tagNull)
	}
	b = binary.AppendUvarint(append(b, tagText), uint64(len(t.v)))
	return append(b, t.v...)
}

// eventFields are the columns of an events row as [EventHasher.Event]
// encodes them, from either decoding.
type eventFields[S string | []byte] struct {
	digest, id, typ, session                       uuid.NullUUID
	t                                              time.Time
	desc, errMsg, stack, fp, level, user, friendly text[S]
	comment                                        text[S]
	descRaw, stackRaw, fpRaw, userRaw              []byte
	isErr                                          sql.NullBool
	dur                                            sql.NullInt64
	// lvl is the level column's level, synthetic whether the comment is
	// SyntheticComment: set by the caller, where comparing costs no copy.
	lvl       audit.Level
	synthetic bool
}

// encode appends the canonical encoding of the row to b, and returns the
// event with Enc that part of b.
func (f *eventFields[S]) encode(b []byte) (ChainEvent, []byte, error) {
	if !f.id.Valid {
		return ChainEvent{}, b, errors.New("events.id is NULL")
	}
	e := ChainEvent{Digest: f.digest, ID: f.id.UUID, Time: f.t, Type: f.typ.UUID, Session: f.session}
	start := len(b)
	b = appendUUIDField(b, f.id)
	b = appendInt(b, f.t.UnixMicro())
	b = appendUUIDField(b, f.typ)
	b = appendUUIDField(b, f.session)
	b = appendRaw(appendText(b, f.desc), f.descRaw)
	b = appendText(b, f.errMsg)
	if f.isErr.Valid {
		b = appendBool(b, f.isErr.Bool)
	} else {
		b = append(b, tagNull)
	}
	b = appendRaw(appendText(b, f.stack), f.stackRaw)
	b = appendRaw(appendText(b, f.fp), f.fpRaw)
	b = appendText(b, f.level)
	b = appendRaw(appendText(b, f.user), f.userRaw)
	if f.dur.Valid {
		b = appendInt(b, f.dur.Int64)
	} else {
		b = append(b, tagNull)
	}
	b = appendText(b, f.friendly)
	b = appendText(b, f.comment)
	e.Enc = b[start:len(b):len(b)]
	e.Level, e.Synthetic = f.lvl, f.synthetic
	return e, b, nil
}

// binary decodes an events row of pgx's binary format: the columns of
// chainEventColumns in order, as scan does.
func (s *eventScan) binary(cols [][]byte, b []byte) (ChainEvent, []byte, error) {
	if len(cols) != 19 {
		return ChainEvent{}, b, fmt.Errorf("events: %d columns, want 19", len(cols))
	}
	f := eventFields[[]byte]{desc: binText(cols[5]), errMsg: binText(cols[7]), stack: binText(cols[9]), fp: binText(cols[11]),
		level: binText(cols[13]), user: binText(cols[14]), friendly: binText(cols[17]), comment: binText(cols[18]),
		descRaw: cols[6], stackRaw: cols[10], fpRaw: cols[12], userRaw: cols[15],
		lvl: levelOf(string(cols[13])), synthetic: string(cols[18]) == SyntheticComment}
	var ids idDecoder
	f.digest, f.id, f.typ, f.session = ids.bin(cols[0]), ids.bin(cols[1]), ids.bin(cols[3]), ids.bin(cols[4])
	if ids.err != nil {
		return ChainEvent{}, b, ids.err
	}
	var err error
	if f.t, err = binTime(cols[2]); err != nil {
		return ChainEvent{}, b, err
	}
	switch c := cols[8]; {
	case len(c) == 1:
		f.isErr = sql.NullBool{Bool: c[0] != 0, Valid: true}
	case c != nil:
		return ChainEvent{}, b, fmt.Errorf("events.is_error: %d bytes", len(c))
	}
	switch c := cols[16]; {
	case len(c) == 8:
		f.dur = sql.NullInt64{Int64: int64(binary.BigEndian.Uint64(c)), Valid: true}
	case c != nil:
		return ChainEvent{}, b, fmt.Errorf("events.duration_ns: %d bytes", len(c))
	}
	return f.encode(b)
}

// pgEpoch is Postgres's epoch of binary times, in Unix microseconds.
const pgEpoch = 946_684_800_000_000

// binTime decodes a binary timestamptz: microseconds since 2000.
func binTime(b []byte) (time.Time, error) {
	if len(b) != 8 {
		return time.Time{}, fmt.Errorf("a time of %d bytes", len(b))
	}
	us := int64(binary.BigEndian.Uint64(b))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return time.Time{}, fmt.Errorf("an infinite time")
	}
	return time.UnixMicro(us + pgEpoch).UTC(), nil
}

// binUUID decodes a binary uuid: 16 bytes, nil for NULL.
func binUUID(b []byte) (uuid.NullUUID, error) {
	switch len(b) {
	case 16:
		return uuid.NullUUID{UUID: uuid.UUID(b), Valid: true}, nil
	case 0:
		if b == nil {
			return uuid.NullUUID{}, nil
		}
	}
	return uuid.NullUUID{}, fmt.Errorf("an id of %d bytes", len(b))
}

func levelOf(s string) audit.Level {
	for l := audit.LevelDebug; l.Valid(); l++ {
		if s == l.String() {
			return l
		}
	}
	return 0
}

// valueScan holds the scan destinations of value rows, reused.
type valueScan struct {
	event, param, valueRaw, valueUUID, kindRaw sql.RawBytes
	value, kind                                sql.NullString
	dest                                       []any
}

func (s *valueScan) scan(rows *sql.Rows, b []byte) (ChainValue, []byte, error) {
	if s.dest == nil {
		s.dest = []any{&s.event, &s.param, &s.value, &s.valueRaw, &s.valueUUID, &s.kind, &s.kindRaw}
	}
	clearRaw(s.dest)
	if err := rows.Scan(s.dest...); err != nil {
		return ChainValue{}, b, err
	}
	f := valueFields[string]{value: textOf(s.value), kind: textOf(s.kind), valueRaw: s.valueRaw, kindRaw: s.kindRaw}
	var ids idDecoder
	f.event, f.param, f.valueUUID = ids.raw(s.event), ids.raw(s.param), ids.raw(s.valueUUID)
	if ids.err != nil {
		return ChainValue{}, b, ids.err
	}
	return f.encode(b)
}

// binary decodes a value row of pgx's binary format, as scan does.
func (s *valueScan) binary(cols [][]byte, b []byte) (ChainValue, []byte, error) {
	if len(cols) != 7 {
		return ChainValue{}, b, fmt.Errorf("event_parameter_values: %d columns, want 7", len(cols))
	}
	f := valueFields[[]byte]{value: binText(cols[2]), valueRaw: cols[3], kind: binText(cols[5]), kindRaw: cols[6]}
	var ids idDecoder
	f.event, f.param, f.valueUUID = ids.bin(cols[0]), ids.bin(cols[1]), ids.bin(cols[4])
	if ids.err != nil {
		return ChainValue{}, b, ids.err
	}
	return f.encode(b)
}

// valueFields are the columns of a value row, from either decoding.
type valueFields[S string | []byte] struct {
	event, param, valueUUID uuid.NullUUID
	value, kind             text[S]
	valueRaw, kindRaw       []byte
}

// encode appends the canonical encoding of the row to b.
func (f *valueFields[S]) encode(b []byte) (ChainValue, []byte, error) {
	v := ChainValue{Event: f.event.UUID, Param: f.param.UUID}
	start := len(b)
	b = appendUUIDField(b, f.event)
	b = appendUUIDField(b, f.param)
	b = appendRaw(appendText(b, f.value), f.valueRaw)
	b = appendUUIDField(b, f.valueUUID)
	b = appendRaw(appendText(b, f.kind), f.kindRaw)
	v.Enc = b[start:len(b):len(b)]
	return v, b, nil
}

// clearRaw sets the RawBytes of dest to nil, so that a scan never appends
// to what the last row left there, which may be the driver's buffer.
func clearRaw(dest []any) {
	for _, d := range dest {
		if rb, ok := d.(*sql.RawBytes); ok {
			*rb = nil
		}
	}
}

// rawUUID reads an id as the drivers return it: 16 bytes, or its text.
func rawUUID(b sql.RawBytes) (uuid.NullUUID, error) {
	switch {
	case b == nil:
		return uuid.NullUUID{}, nil
	case len(b) == 16:
		return uuid.NullUUID{UUID: uuid.UUID(b), Valid: true}, nil
	}
	u, err := uuid.ParseBytes(b)
	return uuid.NullUUID{UUID: u, Valid: err == nil}, err
}

func appendUUIDField(b []byte, u uuid.NullUUID) []byte {
	if !u.Valid {
		return append(b, tagNull)
	}
	return append(append(b, tagUUID), u.UUID[:]...)
}

// appendRaw encodes a bytes column as [appendField] does a []byte; NULL
// (nil) is NULL. Texts are scanned as strings ([textOf]): a RawBytes does
// not keep an empty text apart from NULL with every driver.
func appendRaw(b, v []byte) []byte {
	if v == nil {
		return append(b, tagNull)
	}
	b = binary.AppendUvarint(append(b, tagBytes), uint64(len(v)))
	return append(b, v...)
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
