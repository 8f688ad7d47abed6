package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by the spool.
var (
	// ErrFull is returned by Append when the record does not fit in
	// Options.MaxBytes until readers acknowledge what they read.
	ErrFull = errors.New("spool: full")
	// ErrTooLarge is returned by Append for a record larger than a segment.
	ErrTooLarge = errors.New("spool: record larger than a segment")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("spool: closed")
)

// Sync is when appended records are flushed to stable storage.
type Sync uint8

const (
	// SyncInterval flushes every Options.SyncInterval (group commit): a
	// process crash loses nothing (records are in the OS page cache as soon
	// as Append returns), a power loss at most the interval.
	SyncInterval Sync = iota
	// SyncEach makes [Spool.WaitSynced] wait for the flush that covers the
	// record; concurrent appenders share one flush.
	SyncEach
	// SyncNever leaves flushing to the OS: a process crash loses nothing, a
	// power loss what the OS had not written.
	SyncNever
)

// Options configure a [Spool].
type Options struct {
	// Dir holds the segment and ledger files; it is created (0700) when
	// missing. Required.
	Dir string
	// SegmentBytes is the size of a segment file. Default 16 MiB.
	SegmentBytes int64
	// MaxBytes bounds the segment files together. Default 1 GiB; at least
	// two segments.
	MaxBytes int64
	// Sync is the flush policy. Default SyncInterval.
	Sync Sync
	// SyncInterval is the group-commit period. Default 50ms.
	SyncInterval time.Duration
	// Readers names the destinations that read the spool; each has its own
	// acknowledged position, and a segment is deleted once every reader has
	// acknowledged it. Names are any strings.
	Readers []string
}

func (o Options) withDefaults() Options {
	if o.SegmentBytes == 0 {
		o.SegmentBytes = 16 << 20
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 1 << 30
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = 50 * time.Millisecond
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Dir == "":
		return errors.New("spool: Dir is required")
	case o.SegmentBytes < 4096 || o.SegmentBytes > 1<<31:
		return fmt.Errorf("spool: SegmentBytes must be between 4 KiB and 2 GiB, got %d", o.SegmentBytes)
	case o.MaxBytes < 2*o.SegmentBytes:
		return fmt.Errorf("spool: MaxBytes (%d) must hold at least two segments of %d bytes", o.MaxBytes, o.SegmentBytes)
	case o.SyncInterval < 0:
		return fmt.Errorf("spool: SyncInterval must not be negative, got %s", o.SyncInterval)
	case o.Sync > SyncNever:
		return fmt.Errorf("spool: unknown Sync policy %d", o.Sync)
	case len(o.Readers) == 0:
		return errors.New("spool: at least one reader is required")
	}
	return nil
}

// Recovery says what Open found.
type Recovery struct {
	// Records counts the records kept, not yet acknowledged by every reader.
	Records uint64
	// CutRecords and CutBytes count the torn or corrupt tails cut from
	// segments: a region that does not parse as checksummed records is
	// counted as one record.
	CutRecords uint64
	CutBytes   int64
	// BadLedgers names readers whose acknowledged position was unreadable;
	// they read again from the oldest record kept.
	BadLedgers []string
}

// Spool is a segmented write-ahead log of records, read by several readers
// at their own pace. Append and the readers are safe for concurrent use;
// each Reader is used by one goroutine.
type Spool struct {
	opts Options
	dir  string

	mu       sync.Mutex // guards segs, the writer's segment and deletion
	segs     []*segment // oldest first; the last is the writer's
	closed   bool
	flushing uint64        // segments from this one on are being flushed: keep them
	room     chan struct{} // closed when segments are deleted; nil if nobody waits
	appended atomic.Uint64 // records appended, counted from the oldest kept

	readers []*Reader

	// The next segment is made ahead, in the background, once the
	// writer's is half full, so the append that fills a segment does not
	// create, prefault and sync the next. prepMu serializes making it.
	prepMu  sync.Mutex
	spare   *segment      // under mu
	prepAsk bool          // under mu: prep was sent for the writer's segment
	prep    chan struct{} // capacity 1: asks syncLoop to make the spare

	// Flushing.
	syncMu   sync.Mutex
	synced   Pos           // records before synced are on stable storage
	syncedCh chan struct{} // closed and replaced after each flush
	kick     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	syncErr  error
}

// Pos is a position in the spool: a segment number and a byte offset in it.
type Pos uint64

func makePos(seg uint64, off int64) Pos { return Pos(seg<<32 | uint64(off)) }
func (p Pos) seg() uint64               { return uint64(p) >> 32 }
func (p Pos) off() int64                { return int64(uint64(p) & 0xffffffff) }

// String formats p as segment:offset.
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.seg(), p.off()) }

const (
	magic     = "AUDSPL01" // the first 8 bytes of a segment
	headerLen = int64(len(magic))
	frameLen  = 8 // uint32 length, uint32 CRC-32C of the length bytes and payload
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const noFlush = 1<<64 - 1

// segment is one mapped segment file.
type segment struct {
	n      uint64
	f      *os.File
	data   []byte       // the mapping
	end    atomic.Int64 // bytes of whole records, readable
	sealed atomic.Bool  // no more records: readers move to the next segment
	first  uint64       // the index of its first record, counted like Spool.appended
	count  atomic.Uint64
}

func segName(n uint64) string { return fmt.Sprintf("%016x.seg", n) }

// Open opens the spool in opts.Dir, recovering what a previous process left:
// torn or corrupt tails are cut and counted, and each reader resumes after
// its acknowledged position.
func Open(opts Options) (*Spool, Recovery, error) {
	opts = opts.withDefaults()
	var rec Recovery
	if err := opts.validate(); err != nil {
		return nil, rec, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, rec, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{opts: opts, dir: opts.Dir, flushing: noFlush, syncedCh: make(chan struct{}), kick: make(chan struct{}, 1),
		prep: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	names, err := os.ReadDir(opts.Dir)
	if err != nil {
		return nil, rec, fmt.Errorf("spool: %w", err)
	}
	var nums []uint64
	for _, e := range names {
		name := e.Name()
		if !strings.HasSuffix(name, ".seg") || len(name) != 20 {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 16, 64)
		if err != nil {
			continue
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for _, n := range nums {
		seg, cut, cutBytes, err := openSegment(filepath.Join(opts.Dir, segName(n)), n)
		if err != nil {
			s.unmapAll()
			return nil, rec, err
		}
		rec.CutRecords += cut
		rec.CutBytes += cutBytes
		seg.first = s.appended.Load()
		s.appended.Add(seg.count.Load())
		seg.sealed.Store(true)
		s.segs = append(s.segs, seg)
	}
	if len(s.segs) == 0 {
		seg, err := s.createSegment(0)
		if err != nil {
			return nil, rec, err
		}
		s.segs = append(s.segs, seg)
	} else {
		last := s.segs[len(s.segs)-1]
		last.sealed.Store(false) // the writer goes on in it
	}
	oldest := makePos(s.segs[0].n, headerLen)
	for _, name := range opts.Readers {
		r := &Reader{s: s, name: name, wake: make(chan struct{}, 1)}
		pos, ok, err := readLedger(s.ledgerPath(name))
		if err != nil {
			rec.BadLedgers = append(rec.BadLedgers, name)
		}
		if !ok || pos < oldest {
			pos = oldest
		}
		if err := r.seek(pos); err != nil {
			s.unmapAll()
			return nil, rec, err
		}
		r.acked = r.pos
		s.readers = append(s.readers, r)
	}
	s.synced = s.end()
	rec.Records = s.appended.Load() - s.minRead()
	s.deleteAcked()
	go s.syncLoop()
	return s, rec, nil
}

// openSegment maps a segment file and finds its end: the records whose
// length and checksum hold. What follows the last good record up to the
// first zero length is cut (zeroed) and counted.
func openSegment(path string, n uint64) (seg *segment, cut uint64, cutBytes int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("spool: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, 0, fmt.Errorf("spool: %w", err)
	}
	size := fi.Size()
	if size < headerLen+frameLen || size > 1<<31 {
		// Not a segment this spool wrote (or cut short before its header):
		// make it an empty one of the same size, counting what it held.
		if size < 4096 {
			size = 4096
		}
		if err := f.Truncate(size); err != nil {
			f.Close()
			return nil, 0, 0, fmt.Errorf("spool: %w", err)
		}
	}
	data, err := mapFile(f, size)
	if err != nil {
		f.Close()
		return nil, 0, 0, fmt.Errorf("spool: map %s: %w", path, err)
	}
	seg = &segment{n: n, f: f, data: data}
	end, count, bad := Scan(data)
	if bad > 0 {
		cut, cutBytes = 1, bad
		clear(data[end:])
		if string(data[:headerLen]) != magic {
			copy(data, magic)
			end = headerLen
		}
	}
	seg.end.Store(end)
	seg.count.Store(count)
	return seg, cut, cutBytes, nil
}

// Scan parses a segment's bytes and returns the end of its last whole
// record, the number of records, and how many bytes after that end are not
// zero (a torn or corrupt tail; 0 when the segment ends cleanly). A segment
// without the header has no records and all its non-zero bytes are bad.
func Scan(data []byte) (end int64, count uint64, bad int64) {
	if int64(len(data)) < headerLen || string(data[:headerLen]) != magic {
		return headerLen, 0, nonZero(data)
	}
	off := headerLen
	for off+frameLen <= int64(len(data)) {
		n := int64(binary.LittleEndian.Uint32(data[off:]))
		if n == 0 {
			break
		}
		if off+frameLen+n > int64(len(data)) || frameCRC(uint32(n), data[off+frameLen:off+frameLen+n]) != binary.LittleEndian.Uint32(data[off+4:]) {
			return off, count, nonZero(data[off:])
		}
		off += frameLen + n
		count++
	}
	return off, count, nonZero(data[off:])
}

// nonZero returns the length of data up to and including its last non-zero
// byte.
func nonZero(data []byte) int64 {
	for i := len(data) - 1; i >= 0; i-- {
		if data[i] != 0 {
			return int64(i + 1)
		}
	}
	return 0
}

// frameCRC returns the CRC-32C of n's 4 bytes, little endian, followed by
// payload. The length's bytes are folded in one by one, without a slice of
// them that would escape to the heap in every Append.
func frameCRC(n uint32, payload []byte) uint32 {
	c := ^uint32(0)
	for i := range 4 {
		c = castagnoli[byte(c)^byte(n>>(8*i))] ^ c>>8
	}
	return crc32.Update(^c, castagnoli, payload)
}

func (s *Spool) createSegment(n uint64) (*segment, error) {
	path := filepath.Join(s.dir, segName(n))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := f.Truncate(s.opts.SegmentBytes); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("spool: %w", err)
	}
	data, err := mapFile(f, s.opts.SegmentBytes)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("spool: map %s: %w", path, err)
	}
	prefault(f, data)
	if s.opts.Sync != SyncNever {
		// The new file's name must survive a power loss with its records.
		if err := syncDir(s.dir); err != nil {
			unmap(data)
			f.Close()
			os.Remove(path)
			return nil, fmt.Errorf("spool: %w", err)
		}
	}
	copy(data, magic)
	seg := &segment{n: n, f: f, data: data, first: s.appended.Load()}
	seg.end.Store(headerLen)
	return seg, nil
}

// Append adds rec and returns the position after it and the record's index,
// counted like [Spool.Appended] (a reader's [Reader.Index] before it reads
// the record). Once Append returns, the record survives a crash of the
// process; see [Sync] for power loss.
func (s *Spool) Append(rec []byte) (Pos, uint64, error) {
	need := frameLen + int64(len(rec))
	if len(rec) == 0 || headerLen+need > s.opts.SegmentBytes {
		return 0, 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(rec))
	}
	// The frame does not depend on where it goes: checksum it before
	// taking the lock.
	crc := frameCRC(uint32(len(rec)), rec)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, 0, ErrClosed
	}
	seg := s.segs[len(s.segs)-1]
	off := seg.end.Load()
	if off+need > int64(len(seg.data)) {
		if int64(len(s.segs)+1)*s.opts.SegmentBytes > s.opts.MaxBytes {
			s.mu.Unlock()
			return 0, 0, ErrFull
		}
		if s.spare == nil {
			// Not made ahead (yet): make it now, then start over.
			s.mu.Unlock()
			if err := s.prepare(); err != nil {
				return 0, 0, err
			}
			return s.Append(rec)
		}
		next := s.spare
		s.spare, s.prepAsk = nil, false
		next.first = s.appended.Load()
		seg.sealed.Store(true)
		s.segs = append(s.segs, next)
		seg, off = next, headerLen
	}
	if !s.prepAsk && off+need > int64(len(seg.data))/2 {
		s.prepAsk = true
		select {
		case s.prep <- struct{}{}:
		default:
		}
	}
	b := seg.data[off : off+need]
	binary.LittleEndian.PutUint32(b, uint32(len(rec)))
	binary.LittleEndian.PutUint32(b[4:], crc)
	copy(b[frameLen:], rec)
	seg.count.Add(1)
	seg.end.Store(off + need)
	n := s.appended.Add(1)
	s.mu.Unlock()
	for _, r := range s.readers {
		if n-r.read.Load() == 1 || n-r.read.Load() == r.batch.Load() {
			r.signal()
		}
	}
	return makePos(seg.n, off+need), n - 1, nil
}

// prepare makes the spare segment, the one after the writer's, unless it
// exists or would not fit in MaxBytes.
func (s *Spool) prepare() error {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.spare != nil || int64(len(s.segs)+1)*s.opts.SegmentBytes > s.opts.MaxBytes {
		s.mu.Unlock()
		return nil
	}
	// Only Append adds segments, and only with a spare: n stays the next.
	n := s.segs[len(s.segs)-1].n + 1
	s.mu.Unlock()
	seg, err := s.createSegment(n)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		dropSegment(seg)
		return ErrClosed
	}
	s.spare = seg
	return nil
}

// dropSegment unmaps, closes and removes a segment.
func dropSegment(seg *segment) {
	unmap(seg.data)
	seg.f.Close()
	os.Remove(seg.f.Name())
}

// Room returns a channel closed once segments have been deleted, for
// appenders waiting after ErrFull.
func (s *Spool) Room() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.room == nil {
		s.room = make(chan struct{})
	}
	return s.room
}

// WaitSynced returns once the record ending at pos is on stable storage
// (under SyncEach it asks for a flush), or with the flush's error.
func (s *Spool) WaitSynced(pos Pos) error {
	for {
		s.syncMu.Lock()
		synced, ch, err := s.synced, s.syncedCh, s.syncErr
		s.syncMu.Unlock()
		if err != nil {
			return err
		}
		if synced >= pos {
			return nil
		}
		select {
		case s.kick <- struct{}{}:
		default:
		}
		select {
		case <-ch:
		case <-s.done:
			return ErrClosed
		}
	}
}

// end returns the position after the last record.
func (s *Spool) end() Pos {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg := s.segs[len(s.segs)-1]
	return makePos(seg.n, seg.end.Load())
}

// syncLoop flushes on the interval, or at once when asked (SyncEach), and
// publishes what was flushed.
func (s *Spool) syncLoop() {
	defer close(s.done)
	var tick <-chan time.Time
	if s.opts.Sync == SyncInterval {
		t := time.NewTicker(s.opts.SyncInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-s.stop:
			s.flush()
			return
		case <-tick:
		case <-s.kick:
		case <-s.prep:
			// A failure shows again, and is returned, when the append
			// that needs the segment makes it.
			_ = s.prepare()
			continue
		}
		s.flush()
	}
}

// flush syncs the segments written since the last flush, and the ledgers.
func (s *Spool) flush() {
	end := s.end()
	s.syncMu.Lock()
	from := s.synced
	s.syncMu.Unlock()
	var err error
	if end > from && s.opts.Sync != SyncNever {
		// Flush only the bytes written since the last flush, so the pages
		// ahead (prefaulted, still dirty) stay mapped for writing. The
		// segments flushed are kept until the flush is done.
		s.mu.Lock()
		type span struct {
			seg      *segment
			from, to int64
		}
		var spans []span
		for _, seg := range s.segs {
			if seg.n >= from.seg() && seg.n <= end.seg() {
				sp := span{seg, headerLen, seg.end.Load()}
				if seg.n == from.seg() {
					sp.from = from.off()
				}
				if seg.n == end.seg() {
					sp.to = end.off()
				}
				spans = append(spans, sp)
			}
		}
		s.flushing = from.seg()
		s.mu.Unlock()
		for _, sp := range spans {
			if e := syncRange(sp.seg.f, sp.seg.data, sp.from, sp.to); e != nil && err == nil {
				err = fmt.Errorf("spool: sync: %w", e)
			}
		}
		s.mu.Lock()
		s.flushing = noFlush
		s.mu.Unlock()
		// Readers that acknowledged segments during the flush could not
		// delete them: do it now, or an appender waiting for room would
		// wait for the next acknowledgement.
		s.deleteAcked()
	}
	s.syncMu.Lock()
	if err == nil {
		s.synced = end
	}
	s.syncErr = err
	close(s.syncedCh)
	s.syncedCh = make(chan struct{})
	s.syncMu.Unlock()
}

// minRead returns the smallest count of records acknowledged by a reader.
func (s *Spool) minRead() uint64 {
	m := s.appended.Load()
	for _, r := range s.readers {
		m = min(m, r.ackedN.Load())
	}
	return m
}

// deleteAcked deletes the segments every reader has acknowledged entirely.
func (s *Spool) deleteAcked() {
	s.mu.Lock()
	oldest := uint64(1<<64 - 1)
	for _, r := range s.readers {
		oldest = min(oldest, Pos(r.ackedPos.Load()).seg())
	}
	freed := false
	for len(s.segs) > 1 && s.segs[0].n < oldest && s.segs[0].n < s.flushing {
		dropSegment(s.segs[0])
		s.segs[0] = nil
		s.segs = s.segs[1:]
		freed = true
	}
	var room chan struct{}
	if freed && s.room != nil {
		room, s.room = s.room, nil
	}
	s.mu.Unlock()
	if room != nil {
		close(room)
	}
}

// Close flushes (except under SyncNever), persists the readers' positions
// and unmaps the segments. The spool must not be used afterwards.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	var errs []error
	s.syncMu.Lock()
	errs = append(errs, s.syncErr)
	s.syncMu.Unlock()
	for _, r := range s.readers {
		errs = append(errs, r.closeLedger())
	}
	s.prepMu.Lock() // a roll may still be making a segment
	s.mu.Lock()
	if s.spare != nil {
		dropSegment(s.spare) // holds no record
		s.spare = nil
	}
	s.unmapAll()
	s.mu.Unlock()
	s.prepMu.Unlock()
	return errors.Join(errs...)
}

func (s *Spool) unmapAll() {
	for _, seg := range s.segs {
		unmap(seg.data)
		seg.f.Close()
	}
	s.segs = nil
}

func (s *Spool) ledgerPath(name string) string {
	h := crc32.Checksum([]byte(name), castagnoli)
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, name)
	if len(safe) > 40 {
		safe = safe[:40]
	}
	return filepath.Join(s.dir, fmt.Sprintf("%s-%08x.ack", safe, h))
}

// A ledger file holds a reader's acknowledged position: 8 bytes of Pos and 4
// of their CRC-32C, little endian.
func readLedger(path string) (Pos, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if len(b) != 12 || crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]) {
		return 0, false, fmt.Errorf("spool: ledger %s is corrupt", path)
	}
	return Pos(binary.LittleEndian.Uint64(b)), true, nil
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Appended returns the number of records appended, counted from the oldest
// record kept when the spool was opened.
func (s *Spool) Appended() uint64 { return s.appended.Load() }

// prefault allocates the file's blocks and touches every page of a fresh
// segment, so that appends copy into memory that is already mapped and
// dirty instead of taking a page fault every few records.
func prefault(f *os.File, data []byte) {
	_ = allocate(f, int64(len(data)))
	if populate(data) {
		return
	}
	for i := 0; i < len(data); i += 4096 {
		data[i] = 0
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(syncFile(d), d.Close())
}
