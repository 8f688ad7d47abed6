package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// Reader reads the spool for one destination, from its acknowledged
// position on. A Reader is used by one goroutine.
type Reader struct {
	s     *Spool
	name  string
	seg   *segment
	off   int64
	pos   Pos // the read position, for seek
	acked Pos // the last acknowledged position, as written to the ledger

	read     atomic.Uint64 // index of the next record to read
	ackedN   atomic.Uint64 // records acknowledged
	ackedPos atomic.Uint64 // Pos acknowledged
	batch    atomic.Uint64 // Append signals wake when this many records wait
	wake     chan struct{}
	ledger   *os.File
}

// Reader returns the reader of the given name (one of Options.Readers), or
// nil.
func (s *Spool) Reader(name string) *Reader {
	for _, r := range s.readers {
		if r.name == name {
			return r
		}
	}
	return nil
}

// seek places the reader at pos, or at the start of the first segment kept
// after it.
func (r *Reader) seek(pos Pos) error {
	s := r.s
	var seg *segment
	for _, sg := range s.segs {
		if sg.n >= pos.seg() {
			seg = sg
			break
		}
	}
	if seg == nil {
		seg = s.segs[len(s.segs)-1]
		pos = makePos(seg.n, seg.end.Load())
	} else if seg.n != pos.seg() {
		pos = makePos(seg.n, headerLen)
	}
	// Count the records before pos in its segment.
	off, n := headerLen, uint64(0)
	end := seg.end.Load()
	for off < pos.off() && off < end {
		off += frameLen + int64(binary.LittleEndian.Uint32(seg.data[off:]))
		n++
	}
	r.seg, r.off, r.pos = seg, off, makePos(seg.n, off)
	r.read.Store(seg.first + n)
	r.ackedN.Store(seg.first + n)
	r.ackedPos.Store(uint64(r.pos))
	f, err := os.OpenFile(s.ledgerPath(r.name), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	r.ledger = f
	return nil
}

// Name returns the reader's name.
func (r *Reader) Name() string { return r.name }

// Next returns the next record and true, or false when the reader has read
// everything appended so far. The record's bytes stay valid until the
// reader acknowledges past it.
func (r *Reader) Next() ([]byte, bool) {
	for {
		seg := r.seg
		if end := seg.end.Load(); r.off < end {
			n := int64(binary.LittleEndian.Uint32(seg.data[r.off:]))
			rec := seg.data[r.off+frameLen : r.off+frameLen+n : r.off+frameLen+n]
			r.off += frameLen + n
			r.read.Add(1)
			return rec, true
		}
		if !seg.sealed.Load() || r.off < seg.end.Load() {
			if r.off < seg.end.Load() {
				continue
			}
			return nil, false
		}
		next := r.s.after(seg.n)
		if next == nil {
			return nil, false
		}
		r.seg, r.off = next, headerLen
	}
}

// after returns the segment following n, or nil.
func (s *Spool) after(n uint64) *segment {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seg := range s.segs {
		if seg.n > n {
			return seg
		}
	}
	return nil
}

// Index returns the index of the record Next returns next, counted like
// [Spool.Appended].
func (r *Reader) Index() uint64 { return r.read.Load() }

// Pending returns the number of records appended and not yet read.
func (r *Reader) Pending() uint64 { return r.s.appended.Load() - r.read.Load() }

// Unacked returns the number of records read or appended and not yet
// acknowledged.
func (r *Reader) Unacked() uint64 { return r.s.appended.Load() - r.ackedN.Load() }

// SetBatch makes Append signal Wake when n records wait to be read, as
// well as when the first one does.
func (r *Reader) SetBatch(n int) { r.batch.Store(uint64(max(n, 1))) }

// Wake returns a channel that receives a value when records arrive for a
// reader that had read everything, and when a batch is waiting.
func (r *Reader) Wake() <-chan struct{} { return r.wake }

func (r *Reader) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Ack acknowledges every record read so far: they are not read again after
// a restart, and segments every reader has acknowledged are deleted.
func (r *Reader) Ack() error {
	pos := makePos(r.seg.n, r.off)
	if pos == r.acked {
		return nil
	}
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:], uint64(pos))
	binary.LittleEndian.PutUint32(b[8:], crc32c(b[:8]))
	if _, err := r.ledger.WriteAt(b[:], 0); err != nil {
		return fmt.Errorf("spool: ledger of %s: %w", r.name, err)
	}
	moved := pos.seg() != r.acked.seg()
	r.acked = pos
	r.ackedN.Store(r.read.Load())
	r.ackedPos.Store(uint64(pos))
	if moved {
		r.s.deleteAcked()
	}
	return nil
}

func (r *Reader) closeLedger() error {
	if r.ledger == nil {
		return nil
	}
	err := errors.Join(syncFile(r.ledger), r.ledger.Close())
	r.ledger = nil
	return err
}

// Acked returns the number of records acknowledged, counted like
// [Spool.Appended].
func (r *Reader) Acked() uint64 { return r.ackedN.Load() }
