package chain

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/google/uuid"
)

// Kind is the kind of a [Problem].
type Kind string

// The problems [Verify] reports.
const (
	// KindModified: an event's stored rows (events, its param values, the
	// names of its type and params) differ from what its batch's record
	// hashed.
	KindModified Kind = "modified"
	// KindDeleted: an event the record lists is missing, and no expiry
	// record covers its level and time.
	KindDeleted Kind = "deleted"
	// KindInserted: an event in no record (written around the writer), or
	// naming a record that does not list it.
	KindInserted Kind = "inserted"
	// KindRecordAltered: a record's fields do not hash to its stored
	// hash, or its entries to its events hash.
	KindRecordAltered Kind = "record-altered"
	// KindGap: records missing from a writer's sequence (seq jumps), or
	// reordered.
	KindGap Kind = "gap"
	// KindLinkBroken: a record's prev_hash is not the hash of the writer's
	// previous record.
	KindLinkBroken Kind = "link-broken"
	// KindBadSignature: a record's signature does not check with the key
	// (or the record has none).
	KindBadSignature Kind = "bad-signature"
	// KindTruncated: a checkpoint names a record the database no longer
	// has (the end of the chain was cut), or one of another hash (it was
	// rewritten).
	KindTruncated Kind = "truncated"
)

// Problem is one thing wrong that [Verify] found.
type Problem struct {
	Kind   Kind      `json:"kind"`
	Writer string    `json:"writer,omitempty"`
	Seq    int64     `json:"seq,omitempty"`   // the record; 0 for none
	Event  uuid.UUID `json:"event,omitempty"` // the event; the nil id for none
	Detail string    `json:"detail"`
}

// String returns the problem on one line.
func (p Problem) String() string {
	s := string(p.Kind)
	if p.Writer != "" {
		s += fmt.Sprintf(" writer %s seq %d", p.Writer, p.Seq)
	}
	if p.Event != uuid.Nil {
		s += " event " + p.Event.String()
	}
	return s + ": " + p.Detail
}

// Report is what [Verify] found.
type Report struct {
	Writers  int       `json:"writers"` // writers with records
	Records  int       `json:"records"` // records read
	Events   int       `json:"events"`  // events checked against their records
	Expired  int       `json:"expired"` // listed events missing as expired
	Started  int       `json:"started"` // datagrok-started events the store wrote itself (not chained)
	Signed   int       `json:"signed"`  // records whose signature checked
	Problems []Problem `json:"problems"`
	// Dropped counts the problems beyond VerifyOptions.MaxProblems, not
	// listed.
	Dropped int `json:"dropped"`
}

// OK reports whether nothing is wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.Dropped == 0 }

// VerifyOptions configure [Verify]. The zero value means the defaults.
type VerifyOptions struct {
	// Since checks only the records created at or after it, and the events
	// of no record that happened since. The chain's links are always
	// checked whole. Default: everything.
	Since time.Time
	// Key checks each record's signature (see [Key]). Default: signatures
	// are not checked.
	Key Key
	// Checkpoints are compared with the chain: each writer's record Seq must
	// exist with that Hash. See [ReadCheckpoints].
	Checkpoints []Checkpoint
	// MaxProblems bounds the problems listed in the report; the rest are
	// counted in Report.Dropped. Default 1000.
	MaxProblems int
}

// Verify reads a store's digest chain and the events it covers, in one
// snapshot, streaming the rows (its memory grows with the number of
// records, not of events), recomputes every hash and reports what is
// wrong. store is a store of this module
// (*postgres.Store, *sqlite.Store). The error is for what kept it from
// checking (the database could not be read), never for a problem found.
func Verify(ctx context.Context, store any, opts VerifyOptions) (*Report, error) {
	db, err := driver.Find(store)
	if err != nil {
		return nil, fmt.Errorf("chain: verify: %w", err)
	}
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = 1000
	}
	r, err := driver.OpenChainReader(ctx, db)
	if err != nil {
		return nil, db.Translate("chain", "verify", err)
	}
	defer r.Close()
	v := &verifier{opts: opts, rep: &Report{Problems: []Problem{}}, expiry: map[audit.Level]time.Time{}}
	if err := v.records(ctx, r); err != nil {
		return nil, db.Translate("chain", "verify", err)
	}
	if err := v.events(ctx, r); err != nil {
		return nil, db.Translate("chain", "verify", err)
	}
	return v.rep, nil
}

type verifier struct {
	opts          VerifyOptions
	rep           *Report
	expiry        map[audit.Level]time.Time // the latest cutoff per level
	h             driver.EventHasher
	types, params map[uuid.UUID]driver.Name
}

func (v *verifier) report(p Problem) {
	if len(v.rep.Problems) >= v.opts.MaxProblems {
		v.rep.Dropped++
		return
	}
	v.rep.Problems = append(v.rep.Problems, p)
}

// records walks every writer's records in seq order: hashes, links,
// signatures, expiry cutoffs, checkpoints.
func (v *verifier) records(ctx context.Context, r *driver.ChainReader) error {
	var prev *driver.Digest
	heads := map[string]map[int64][]byte{} // checkpointed seqs of each writer -> hash found
	for _, c := range v.opts.Checkpoints {
		if heads[c.Writer] == nil {
			heads[c.Writer] = map[int64][]byte{}
		}
		heads[c.Writer][c.Seq] = nil
	}
	err := r.Records(ctx, func(d *driver.Digest) error {
		v.rep.Records++
		p := Problem{Writer: d.Writer, Seq: d.Seq}
		if prev == nil || prev.Writer != d.Writer {
			v.rep.Writers++
			prev = &driver.Digest{Writer: d.Writer, Hash: make([]byte, sha256.Size)}
		}
		if want := prev.Seq + 1; d.Seq != want {
			p.Kind, p.Detail = KindGap, fmt.Sprintf("records %d to %d missing or reordered", want, d.Seq-1)
			if d.Seq < want {
				p.Detail = fmt.Sprintf("seq %d follows %d", d.Seq, prev.Seq)
			}
			v.report(p)
		}
		if !bytes.Equal(d.ComputeHash(), d.Hash) {
			p.Kind, p.Detail = KindRecordAltered, "the record's fields do not match its hash"
			v.report(p)
		}
		if !bytes.Equal(d.PrevHash, prev.Hash) {
			p.Kind, p.Detail = KindLinkBroken, fmt.Sprintf("prev_hash is not the hash of seq %d", prev.Seq)
			v.report(p)
		}
		if !v.opts.Key.zero() {
			if v.opts.Key.check(d.Hash, d.Signature) {
				v.rep.Signed++
			} else {
				p.Kind, p.Detail = KindBadSignature, "the signature does not check with the key"
				v.report(p)
			}
		}
		if d.Kind == driver.DigestExpiry {
			v.addExpiry(d, p)
		}
		if seqs := heads[d.Writer]; seqs != nil {
			if _, ok := seqs[d.Seq]; ok {
				seqs[d.Seq] = d.Hash
			}
		}
		prev = d
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range v.opts.Checkpoints {
		got := heads[c.Writer][c.Seq]
		switch {
		case got == nil:
			v.report(Problem{Kind: KindTruncated, Writer: c.Writer, Seq: c.Seq,
				Detail: fmt.Sprintf("the checkpoint of %s names record %d, which the database does not have", c.Time.Format(time.RFC3339), c.Seq)})
		case hex.EncodeToString(got) != c.Hash:
			v.report(Problem{Kind: KindTruncated, Writer: c.Writer, Seq: c.Seq,
				Detail: "the record's hash is not the checkpoint's: the chain was rewritten"})
		}
	}
	return nil
}

func (v *verifier) addExpiry(d *driver.Digest, p Problem) {
	var cutoffs map[string]time.Time
	if err := json.Unmarshal([]byte(d.Expiry), &cutoffs); err != nil {
		p.Kind, p.Detail = KindRecordAltered, "expiry record: "+err.Error()
		v.report(p)
		return
	}
	for name, t := range cutoffs {
		if l, err := audit.ParseLevel(name); err == nil && t.After(v.expiry[l]) {
			v.expiry[l] = t
		}
	}
}

// batchState is what the events of one batch record rebuild: the SHA-256
// of their entries, in id order, and their number.
type batchState struct {
	d *driver.Digest
	h hash.Hash
	n int
}

// events reads the events by id, each with its values, and rebuilds each
// batch record's entries hash; a record whose hash or count differs is
// checked again entry by entry ([verifier.recheck]) to name what changed.
// Memory holds one hash state per record, none per event.
func (v *verifier) events(ctx context.Context, r *driver.ChainReader) error {
	states := map[uuid.UUID]*batchState{}
	err := r.BatchHeads(ctx, v.opts.Since, func(d *driver.Digest) error {
		states[d.ID] = &batchState{d: d, h: sha256.New()}
		return nil
	})
	if err != nil {
		return err
	}
	if v.types, v.params, err = r.Names(ctx); err != nil {
		return err
	}
	var entry []byte
	err = v.scan(ctx, r, driver.EventFilter{Since: v.opts.Since}, func(ev *driver.ChainEvent, hash []byte, values int) {
		if !ev.Digest.Valid {
			if v.started(ev, values) {
				v.rep.Started++
			} else {
				v.report(Problem{Kind: KindInserted, Event: ev.ID, Detail: "the event is in no record of the chain"})
			}
			return
		}
		st := states[ev.Digest.UUID]
		if st == nil {
			v.report(Problem{Kind: KindInserted, Event: ev.ID, Detail: "the event names record " + ev.Digest.UUID.String() + ", which does not exist"})
			return
		}
		st.n++
		entry = driver.AppendEntry(entry[:0], ev.ID, ev.Time, ev.Level, hash)
		st.h.Write(entry)
	})
	if err != nil {
		return err
	}
	sorted := make([]*batchState, 0, len(states))
	for _, st := range states {
		sorted = append(sorted, st)
	}
	slices.SortFunc(sorted, func(a, b *batchState) int {
		if c := strings.Compare(a.d.Writer, b.d.Writer); c != 0 {
			return c
		}
		return cmp.Compare(a.d.Seq, b.d.Seq)
	})
	for _, st := range sorted {
		if st.n == st.d.Events && bytes.Equal(st.h.Sum(nil), st.d.EventsHash) {
			v.rep.Events += st.n
			continue
		}
		if err := v.recheck(ctx, r, st); err != nil {
			return err
		}
	}
	return nil
}

// started reports whether ev is a datagrok-started event the store wrote
// itself: marked synthetic, of that type, with the id derived from its
// session, and no params.
func (v *verifier) started(ev *driver.ChainEvent, values int) bool {
	return ev.Synthetic && values == 0 && ev.Session.Valid && ev.ID == driver.StartedID(ev.Session.UUID) &&
		v.types[ev.Type].Text == driver.StartedType
}

// scan calls fn with each event the filter picks, by id, with the SHA-256
// of its rows and its number of values.
func (v *verifier) scan(ctx context.Context, r *driver.ChainReader, f driver.EventFilter, fn func(ev *driver.ChainEvent, hash []byte, values int)) error {
	events, err := r.Events(ctx, f)
	if err != nil {
		return err
	}
	defer events.Close()
	values, err := r.Values(ctx, f)
	if err != nil {
		return err
	}
	defer values.Close()
	val, vok, err := values.Next(ctx)
	for err == nil {
		ev, ok, eerr := events.Next(ctx)
		if eerr != nil || !ok {
			return eerr
		}
		t := v.types[ev.Type]
		v.h.Encoded(ev.Enc, t.Text, t.Raw)
		for vok && err == nil && bytes.Compare(val.Event[:], ev.ID[:]) < 0 {
			val, vok, err = values.Next(ctx) // values of no event
		}
		n := 0
		for vok && err == nil && val.Event == ev.ID {
			p := v.params[val.Param]
			v.h.EncodedValue(p.Text, p.Raw, p.Type, val.Enc)
			n++
			val, vok, err = values.Next(ctx)
		}
		sum := v.h.Sum()
		fn(&ev, sum[:], n)
	}
	return err
}

// recheck checks the entries of a batch record whose events did not
// rebuild it, chunk by chunk, against the events they list.
func (v *verifier) recheck(ctx context.Context, r *driver.ChainReader, st *batchState) error {
	d := st.d
	entries, err := r.Entries(ctx, d.ID)
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(entries); !bytes.Equal(sum[:], d.EventsHash) || len(entries) != d.Events*driver.EntrySize {
		v.report(Problem{Kind: KindRecordAltered, Writer: d.Writer, Seq: d.Seq, Detail: "the record's entries do not match its events hash"})
		return nil
	}
	type found struct {
		hash   []byte
		digest uuid.NullUUID
	}
	listed := 0 // listed events that name the record
	for lo := 0; lo < d.Events; lo += recheckChunk {
		hi := min(lo+recheckChunk, d.Events)
		ids := make([]uuid.UUID, 0, hi-lo)
		for i := lo; i < hi; i++ {
			ids = append(ids, driver.EntryAt(entries, i).ID)
		}
		got := make(map[uuid.UUID]found, len(ids))
		err := v.scan(ctx, r, driver.EventFilter{IDs: ids}, func(ev *driver.ChainEvent, hash []byte, _ int) {
			got[ev.ID] = found{slices.Clone(hash), ev.Digest}
		})
		if err != nil {
			return err
		}
		for i := lo; i < hi; i++ {
			e := driver.EntryAt(entries, i)
			f, ok := got[e.ID]
			p := Problem{Kind: KindModified, Writer: d.Writer, Seq: d.Seq, Event: e.ID}
			switch {
			case !ok:
				v.missing(d, e)
				continue
			case f.digest.UUID != d.ID:
				p.Detail = "the event names another record than the one that lists it"
				v.report(p)
				continue
			case !bytes.Equal(f.hash, e.Hash):
				p.Detail = "the event's stored rows differ from what the record hashed"
				v.report(p)
			default:
				v.rep.Events++
			}
			listed++
		}
	}
	if st.n == listed {
		return nil
	}
	// Events that name the record and are not in it.
	all := ids(entries)
	return v.scan(ctx, r, driver.EventFilter{Digest: d.ID}, func(ev *driver.ChainEvent, _ []byte, _ int) {
		_, ok := slices.BinarySearchFunc(all, ev.ID, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
		if !ok {
			v.report(Problem{Kind: KindInserted, Writer: d.Writer, Seq: d.Seq, Event: ev.ID, Detail: "the event names a record that does not list it"})
		}
	})
}

// recheckChunk is how many listed events [verifier.recheck] reads at once.
const recheckChunk = 1000

// ids returns the ids of entries.
func ids(entries []byte) []uuid.UUID {
	out := make([]uuid.UUID, len(entries)/driver.EntrySize)
	for i := range out {
		out[i] = driver.EntryAt(entries, i).ID
	}
	return out
}

// missing reports an entry with no event: expired or deleted.
func (v *verifier) missing(d *driver.Digest, e driver.Entry) {
	if cut, ok := v.expiry[e.Level]; ok && e.Time.Before(cut) {
		v.rep.Expired++
		return
	}
	v.report(Problem{Kind: KindDeleted, Writer: d.Writer, Seq: d.Seq, Event: e.ID,
		Detail: fmt.Sprintf("the %s event of %s is missing", e.Level, e.Time.Format(time.RFC3339Nano))})
}
