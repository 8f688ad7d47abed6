package driver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// TableDigests is the table of the digest chain's records.
const TableDigests = "chain_digests"

// Kinds of digest records.
const (
	// DigestBatch is the record of one batch of events.
	DigestBatch = "batch"
	// DigestExpiry records that events of some levels older than a cutoff
	// were expired (deleted by retention).
	DigestExpiry = "expiry"
)

// EntrySize is the size of one event's entry in [Digest.Entries]: its id
// (16 bytes), its time (microseconds since 1970, 8 bytes big-endian), its
// level (1 byte) and the SHA-256 of its rows ([EventHash], 32 bytes).
const EntrySize = 16 + 8 + 1 + sha256.Size

// Digest is one chain_digests row.
type Digest struct {
	ID          uuid.UUID
	Writer      string
	Seq         int64
	Kind        string
	Created     time.Time // microseconds
	Events      int
	First, Last time.Time // zero when the batch has no events
	PrevHash    []byte
	EventsHash  []byte
	Entries     []byte
	Expiry      string
	Hash        []byte
	Signature   []byte
}

// ComputeHash returns the SHA-256 of the record's fields (all but Hash,
// Signature and Entries, which EventsHash covers), in a length-prefixed
// encoding: what Hash must be, and what a signature signs.
func (d *Digest) ComputeHash() []byte {
	b := make([]byte, 0, 256)
	b = appendField(b, "audit-chain-v1")
	b = appendField(b, d.Writer)
	b = appendField(b, d.Seq)
	b = appendField(b, d.Kind)
	b = appendField(b, d.Created.UnixMicro())
	b = appendField(b, int64(d.Events))
	b = appendField(b, optMicro(d.First))
	b = appendField(b, optMicro(d.Last))
	b = appendField(b, d.PrevHash)
	b = appendField(b, d.EventsHash)
	b = appendField(b, d.Expiry)
	sum := sha256.Sum256(b)
	return sum[:]
}

func optMicro(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// Entry is one event's entry in [Digest.Entries].
type Entry struct {
	ID    uuid.UUID
	Time  time.Time
	Level audit.Level
	Hash  []byte
}

// EntryAt returns the i-th entry of entries.
func EntryAt(entries []byte, i int) Entry {
	e := entries[i*EntrySize : (i+1)*EntrySize]
	return Entry{
		ID:    uuid.UUID(e[:16]),
		Time:  time.UnixMicro(int64(binary.BigEndian.Uint64(e[16:24]))).UTC(),
		Level: audit.Level(e[24]),
		Hash:  e[25:],
	}
}

// Field tags of the canonical encoding: each field is its tag, then for
// text and bytes a uvarint length and the bytes, for integers 8 bytes
// big-endian, for ids 16 bytes, for booleans one byte.
const (
	tagNull byte = iota
	tagText
	tagBytes
	tagBool
	tagInt
	tagUUID
)

// appendField appends the canonical encoding of v: nil, string, []byte,
// bool, int64 or [16]byte.
func appendField(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, tagNull)
	case string:
		b = binary.AppendUvarint(append(b, tagText), uint64(len(v)))
		return append(b, v...)
	case []byte:
		if v == nil {
			return append(b, tagNull)
		}
		b = binary.AppendUvarint(append(b, tagBytes), uint64(len(v)))
		return append(b, v...)
	case bool:
		return appendBool(b, v)
	case int64:
		return appendInt(b, v)
	case [16]byte:
		return append(append(b, tagUUID), v[:]...)
	}
	panic(fmt.Sprintf("driver: no canonical encoding of %T", v))
}

// EventHasher computes the hashes of events ([EventHasher.EventHash] as
// written, [EventHasher.Encoded] as read back), reusing its buffers.
type EventHasher struct {
	buf   []byte
	order []*ValueRow
}

// Encoded starts the encoding of an event from the encoding of its events
// columns (as [ChainReader.Events] gives it) and its type's name.
func (h *EventHasher) Encoded(enc []byte, typeName, typeRaw any) {
	h.buf = append(h.buf[:0], enc...)
	h.buf = appendField(h.buf, typeName)
	h.buf = appendField(h.buf, typeRaw)
}

// EncodedValue adds a value from the encoding of its columns (as
// [ChainReader.Values] gives it) and its param's name and type.
func (h *EventHasher) EncodedValue(name, nameRaw, typ any, enc []byte) {
	h.buf = appendField(h.buf, name)
	h.buf = appendField(h.buf, nameRaw)
	h.buf = appendField(h.buf, typ)
	h.buf = append(h.buf, enc...)
}

// AppendEntry appends the entry of an event to b (see [EntrySize]).
func AppendEntry(b []byte, id uuid.UUID, t time.Time, level audit.Level, hash []byte) []byte {
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(t.UnixMicro()))
	b = append(b, byte(level))
	return append(b, hash...)
}

// Sum returns the SHA-256 of the event's encoding.
func (h *EventHasher) Sum() [sha256.Size]byte { return sha256.Sum256(h.buf) }

// EventHash returns the SHA-256 of the canonical encoding of an event as
// stored: its events row (every column the store writes but digest_id, as
// [EventRow.Args] gives them), the name of its event type, and each param
// value row ([ValueRow.Args]), by parameter_id, with its param's name and
// type. r's registry ids must be resolved.
func (h *EventHasher) EventHash(r *EventRow) [sha256.Size]byte {
	b := h.buf[:0]
	b = appendUUIDField(b, uuid.NullUUID{UUID: r.ID, Valid: true})
	b = appendField(b, r.Time.UnixMicro())
	b = appendUUIDField(b, uuid.NullUUID{UUID: r.TypeID, Valid: true})
	b = appendUUIDField(b, uuid.NullUUID{UUID: r.SessionID, Valid: r.HasSession})
	b = appendString(b, r.Description.Text, true)
	b = appendRaw(b, r.Description.Raw)
	isErr := r.Type.Level == audit.LevelError
	b = appendString(b, r.Description.Text, isErr)
	b = appendField(b, isErr)
	b = appendString(b, r.StackTrace.Text, !r.StackTrace.empty())
	b = appendRaw(b, r.StackTrace.Raw)
	b = appendString(b, r.Fingerprint.Text, !r.Fingerprint.empty())
	b = appendRaw(b, r.Fingerprint.Raw)
	b = appendString(b, r.Type.Level.String(), true)
	b = appendString(b, r.User.Text, !r.User.empty())
	b = appendRaw(b, r.User.Raw)
	if r.Duration != 0 {
		b = appendField(b, int64(r.Duration))
	} else {
		b = append(b, tagNull)
	}
	friendly := r.Description.Text
	if friendly == "" {
		friendly, _ = audit.Text(r.Type.Type)
	}
	b = appendString(b, friendly, true)
	b = appendString(b, SyntheticComment, r.Synthetic)
	tname, traw := EncodeText(r.Type.Type)
	b = appendString(b, tname, true)
	b = appendRaw(b, traw)
	h.order = h.order[:0]
	for i := range r.Values {
		h.order = append(h.order, &r.Values[i])
	}
	slices.SortFunc(h.order, func(x, y *ValueRow) int { return bytes.Compare(x.ParameterID[:], y.ParameterID[:]) })
	for _, v := range h.order {
		b = appendString(b, v.NameText, true)
		b = appendRaw(b, v.NameRaw)
		b = appendString(b, v.Param.Kind.String(), true)
		b = appendUUIDField(b, uuid.NullUUID{UUID: r.ID, Valid: true})
		b = appendUUIDField(b, uuid.NullUUID{UUID: v.ParameterID, Valid: true})
		b = appendString(b, v.Value, true)
		b = appendRaw(b, v.ValueRaw)
		b = appendUUIDField(b, v.ValueUUID)
		b = appendString(b, v.EntityKind, v.Entity)
		b = appendRaw(b, v.KindRaw)
	}
	h.buf = b
	return h.Sum()
}

// appendString encodes s as [appendField] does, or NULL when not valid.
func appendString(b []byte, s string, valid bool) []byte {
	if !valid {
		return append(b, tagNull)
	}
	b = binary.AppendUvarint(append(b, tagText), uint64(len(s)))
	return append(b, s...)
}

// ChainWriter is the state of one writer of the digest chain: its id, the
// sequence number and hash of its last record, and its signing function.
// A store holds Mu across the transaction of each chained batch, so the
// records of one writer are written one at a time.
type ChainWriter struct {
	// Mu serializes the writes of the writer.
	Mu sync.Mutex
	// Writer is the writer id.
	Writer string
	// Sign returns the signature of a record's hash; nil for none.
	Sign func(hash []byte) []byte
	// Now returns the record's time.
	Now func() time.Time
	// Committed is called, with Mu held, after a record is committed (to
	// emit checkpoints); nil for nothing.
	Committed func(ctx context.Context, d *Digest)

	loaded bool
	seq    int64
	prev   []byte
}

// Head loads the writer's last record from the database, unless it is
// known: at the first write, and after a write whose outcome is unknown
// ([ChainWriter.Forget]).
func (c *ChainWriter) Head(ctx context.Context, d Dialect, q sqlx.QueryerContext) error {
	if c.loaded {
		return nil
	}
	var rec struct {
		Seq  int64  `db:"seq"`
		Hash []byte `db:"hash"`
	}
	err := sqlx.GetContext(ctx, q, &rec, Rebind(d, "SELECT seq, hash FROM "+d.Table(TableDigests)+" WHERE writer = ? ORDER BY seq DESC LIMIT 1"), c.Writer)
	switch {
	case err == nil:
		c.seq, c.prev = rec.Seq, rec.Hash
	case errors.Is(err, sql.ErrNoRows):
		c.seq, c.prev = 0, make([]byte, sha256.Size)
	default:
		return err
	}
	c.loaded = true
	return nil
}

// Forget makes the next write load the writer's last record again.
func (c *ChainWriter) Forget() { c.loaded = false }

// Seal returns the record of a batch about to be inserted and sets the
// DigestID of its rows; rows the store writes itself (Synthetic) are left
// out of the chain. Its hash and signature are set. Call
// [ChainWriter.Head] first.
func (c *ChainWriter) Seal(rows []EventRow) *Digest {
	ptrs := make([]*EventRow, len(rows))
	for i := range rows {
		ptrs[i] = &rows[i]
	}
	return c.SealInserted(uuid.New(), ptrs)
}

// SealInserted is [ChainWriter.Seal] for a store that learns which events
// it inserted only once it has: it sets the DigestID of rows to id before
// the insert, and seals the rows inserted after it.
func (c *ChainWriter) SealInserted(id uuid.UUID, rows []*EventRow) *Digest {
	dg := &Digest{ID: id, Kind: DigestBatch}
	order := make([]*EventRow, 0, len(rows))
	for _, r := range rows {
		if !r.Synthetic {
			r.DigestID = dg.ID
			order = append(order, r)
		}
	}
	slices.SortFunc(order, func(a, b *EventRow) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	dg.Entries = make([]byte, 0, len(order)*EntrySize)
	var h EventHasher
	for _, r := range order {
		sum := h.EventHash(r)
		dg.Entries = AppendEntry(dg.Entries, r.ID, r.Time, r.Type.Level, sum[:])
		if dg.First.IsZero() || r.Time.Before(dg.First) {
			dg.First = r.Time
		}
		if r.Time.After(dg.Last) {
			dg.Last = r.Time
		}
	}
	dg.Events = len(order)
	c.finish(dg)
	return dg
}

// finish fills in the writer's part of a record: writer, seq, time, links,
// hash and signature.
func (c *ChainWriter) finish(dg *Digest) {
	sum := sha256.Sum256(dg.Entries)
	dg.EventsHash = sum[:]
	dg.Writer, dg.Seq, dg.PrevHash = c.Writer, c.seq+1, c.prev
	dg.Created = c.Now().UTC().Truncate(time.Microsecond)
	dg.Hash = dg.ComputeHash()
	if c.Sign != nil {
		dg.Signature = c.Sign(dg.Hash)
	}
}

// Done records that dg was committed: the next record follows it.
func (c *ChainWriter) Done(ctx context.Context, dg *Digest) {
	c.seq, c.prev = dg.Seq, dg.Hash
	if c.Committed != nil {
		c.Committed(ctx, dg)
	}
}

// DigestColumns are the chain_digests columns, in the order of
// [Digest.Args].
var DigestColumns = []string{"id", "writer", "seq", "kind", "created", "events", "first_time", "last_time",
	"prev_hash", "events_hash", "entries", "expiry", "hash", "signature"}

// Args returns the record in the order of [DigestColumns].
func (dg *Digest) Args(d Dialect) []any {
	opt := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return d.TimeArg(t)
	}
	var expiry any
	if dg.Expiry != "" {
		expiry = dg.Expiry
	}
	return []any{d.UUIDArg(dg.ID), dg.Writer, dg.Seq, dg.Kind, d.TimeArg(dg.Created), dg.Events,
		opt(dg.First), opt(dg.Last), dg.PrevHash, dg.EventsHash, dg.Entries, expiry, dg.Hash, RawArg(dg.Signature)}
}

// InsertDigest writes a record.
func InsertDigest(ctx context.Context, d Dialect, db sqlx.ExecerContext, dg *Digest) error {
	_, err := db.ExecContext(ctx, InsertValues(d, TableDigests, DigestColumns, 1, ""), dg.Args(d)...)
	return err
}

// RecordExpiry appends to the chain of c, in its own transaction on db, a
// record saying that the events of each level older than its cutoff were
// expired: the verifier then takes an event of such a level and time that
// is missing from its batch for expired, not deleted. The record holds the
// cutoffs as JSON, {"level": "RFC 3339 time"}. Call it before deleting the
// events.
func (c *ChainWriter) RecordExpiry(ctx context.Context, d Dialect, db sqlx.ExtContext, cutoffs map[audit.Level]time.Time) (*Digest, error) {
	if len(cutoffs) == 0 {
		return nil, errors.New("no cutoffs")
	}
	m := make(map[string]time.Time, len(cutoffs))
	for l, t := range cutoffs {
		if !l.Valid() || t.IsZero() {
			return nil, fmt.Errorf("bad cutoff %v for %v", t, l)
		}
		m[l.String()] = t.UTC()
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	expiry := string(b)
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if err := c.Head(ctx, d, db); err != nil {
		return nil, err
	}
	dg := &Digest{ID: uuid.New(), Kind: DigestExpiry, Entries: []byte{}, Expiry: expiry}
	c.finish(dg)
	if err := InsertDigest(ctx, d, db, dg); err != nil {
		c.Forget()
		return nil, err
	}
	c.Done(ctx, dg)
	return dg, nil
}
