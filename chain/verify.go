package chain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
// snapshot and in constant memory (rows are streamed), recomputes every
// hash and reports what is wrong. store is a store of this module
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
	opts   VerifyOptions
	rep    *Report
	expiry map[audit.Level]time.Time // the latest cutoff per level
	h      driver.EventHasher
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

// events merges the batch records (by id) with the events (by digest_id,
// id): each event's hash against its entry.
func (v *verifier) events(ctx context.Context, r *driver.ChainReader) error {
	batches, err := r.Batches(ctx, v.opts.Since)
	if err != nil {
		return err
	}
	defer batches.Close()
	rows, err := r.Events(ctx, v.opts.Since)
	if err != nil {
		return err
	}
	defer rows.Close()

	var (
		cur  *driver.Digest // the record of the events being read
		next int            // its next entry
	)
	// finish reports the entries of cur that no event matched.
	finish := func() {
		if cur == nil {
			return
		}
		for ; next*driver.EntrySize < len(cur.Entries); next++ {
			v.missing(cur, driver.EntryAt(cur.Entries, next))
		}
		cur = nil
	}
	// seek moves cur to the record of id, or to the first after it when
	// id names none.
	seek := func(id uuid.UUID) error {
		if cur != nil && bytes.Compare(cur.ID[:], id[:]) >= 0 {
			return nil
		}
		finish()
		for {
			d, ok, err := batches.Next(ctx)
			if err != nil || !ok {
				return err
			}
			v.checkEntries(d)
			cur, next = d, 0
			if bytes.Compare(d.ID[:], id[:]) >= 0 {
				return nil
			}
			finish()
		}
	}

	row, ok, err := rows.Next(ctx)
	for ok && err == nil {
		ev := row
		v.h.Event(ev.Cols, ev.Type, ev.Raw)
		values := 0
		for ok && err == nil && row.ID == ev.ID && row.Digest == ev.Digest {
			if row.Param {
				v.h.Value(row.Name, row.NameRaw, row.PType, row.Value)
				values++
			}
			row, ok, err = rows.Next(ctx)
		}
		if err != nil {
			return err
		}
		hash := v.h.Sum()
		switch {
		case !ev.Digest.Valid && ev.Started && values == 0:
			v.rep.Started++
		case !ev.Digest.Valid:
			v.report(Problem{Kind: KindInserted, Event: ev.ID, Detail: "the event is in no record of the chain"})
		default:
			if serr := seek(ev.Digest.UUID); serr != nil {
				return serr
			}
			v.match(cur, &next, ev.ID, ev.Digest.UUID, hash[:])
		}
	}
	if err != nil {
		return err
	}
	// The records after the last event's: their entries are all missing.
	err = seek(uuid.Max)
	finish()
	return err
}

// checkEntries checks a batch record's entries against its events hash.
func (v *verifier) checkEntries(d *driver.Digest) {
	sum := sha256.Sum256(d.Entries)
	if !bytes.Equal(sum[:], d.EventsHash) || len(d.Entries) != d.Events*driver.EntrySize {
		v.report(Problem{Kind: KindRecordAltered, Writer: d.Writer, Seq: d.Seq, Detail: "the record's entries do not match its events hash"})
	}
}

// match checks the event id of record digest (cur, when it is that record)
// against cur's entries from *next on.
func (v *verifier) match(cur *driver.Digest, next *int, id, digest uuid.UUID, hash []byte) {
	if cur == nil || cur.ID != digest {
		v.report(Problem{Kind: KindInserted, Event: id, Detail: "the event names record " + digest.String() + ", which does not exist"})
		return
	}
	for ; *next*driver.EntrySize < len(cur.Entries); *next++ {
		e := driver.EntryAt(cur.Entries, *next)
		switch c := bytes.Compare(e.ID[:], id[:]); {
		case c < 0:
			v.missing(cur, e)
			continue
		case c == 0:
			*next++
			v.rep.Events++
			if !bytes.Equal(e.Hash, hash) {
				v.report(Problem{Kind: KindModified, Writer: cur.Writer, Seq: cur.Seq, Event: id, Detail: "the event's stored rows differ from what the record hashed"})
			}
			return
		}
		break
	}
	v.report(Problem{Kind: KindInserted, Writer: cur.Writer, Seq: cur.Seq, Event: id, Detail: "the event names a record that does not list it"})
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
