package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/auditkit/audit/internal/spool"
)

// SpoolOptions configure the disk spool (Options.Spool): a write-ahead log
// that every accepted event is appended to before the logging call returns.
// The store and each sink read it at their own pace and acknowledge what
// they delivered, so events survive a crash of the process and an outage of
// a destination, and are delivered after a restart.
//
// Delivery from the spool is exactly once into stores (they are idempotent
// on Event.ID) and at least once into sinks that cannot deduplicate: an
// event delivered just before a crash, but not yet acknowledged, is sent
// again with the same Event.ID.
//
// A destination that keeps up gets the events from memory: each keeps the
// last QueueSize (sinks: SinkQueueSize) events spooled for it, and reads the
// spool back only after a restart, or for what it fell further behind on.
type SpoolOptions struct {
	// Dir is the spool's directory, created (0700) when missing; its files
	// are 0600. One Logger at a time may use a directory. Required.
	Dir string
	// MaxBytes bounds the spool's files. When an event does not fit,
	// Options.Overflow applies: wait for destinations to catch up (giving
	// up once BlockTimeout passes without a segment freed), or fail at once;
	// either way a call that gives up returns an error.
	// Default 1 GiB.
	MaxBytes int64
	// SegmentBytes is the size of each segment file; a segment is deleted
	// once every destination has delivered it. Default 16 MiB.
	SegmentBytes int64
	// Sync is when the spool is flushed to stable storage. Default
	// SpoolSyncInterval.
	Sync SpoolSync
	// SyncInterval is the period of SpoolSyncInterval. Default 50ms.
	SyncInterval time.Duration
}

// SpoolSync is the spool's flush policy. Under every policy an event whose
// logging call returned nil survives a crash of the process (it is in the OS
// page cache); the policies differ on power loss.
type SpoolSync uint8

const (
	// SpoolSyncInterval flushes every SyncInterval (group commit): a power
	// loss loses at most the last interval. The default.
	SpoolSyncInterval SpoolSync = iota
	// SpoolSyncEach makes each logging call wait for the flush that covers
	// its event (concurrent calls share one flush): nothing is lost, at the
	// cost of a flush's latency per call.
	SpoolSyncEach
	// SpoolSyncNever leaves flushing to the OS.
	SpoolSyncNever
)

// ErrSpool is wrapped by the error a logging call returns when the event
// could not be made durable in the spool (full past the wait, or
// unwritable): the event was not accepted, and the caller can refuse the
// action it records.
var ErrSpool = errors.New("audit: event not spooled")

// openSpool opens the spool with one reader per pipe and reports what its
// recovery found.
func (c *core) openSpool() error {
	so := c.opts.Spool
	names := make([]string, len(c.pipes))
	seen := map[string]bool{}
	for i, p := range c.pipes {
		if seen[p.name] {
			return fmt.Errorf("%w: Spool: two destinations are named %q; name sinks with Namer", ErrInvalidOptions, p.name)
		}
		seen[p.name] = true
		names[i] = p.name
	}
	s, rec, err := spool.Open(spool.Options{
		Dir: so.Dir, MaxBytes: so.MaxBytes, SegmentBytes: so.SegmentBytes,
		Sync: spool.Sync(so.Sync), SyncInterval: so.SyncInterval, Readers: names,
	})
	if err != nil {
		return fmt.Errorf("%w: Spool: %w", ErrInvalidOptions, err)
	}
	if rec.CutRecords > 0 {
		c.opts.ErrorHandler(fmt.Errorf("audit: spool: cut %d torn or corrupt records (%d bytes) found at start", rec.CutRecords, rec.CutBytes))
	}
	if len(rec.BadLedgers) > 0 {
		c.opts.ErrorHandler(fmt.Errorf("audit: spool: positions of %q were unreadable: they receive the spool again from its oldest event", rec.BadLedgers))
	}
	c.spool = s
	c.spoolRefs.Store(int32(len(c.pipes)) + 1) // the pipes and Close
	for _, p := range c.pipes {
		p.reader = s.Reader(p.name)
		p.ring = newLiveRing(p.q.limit)
		p.flushReq = make(chan struct{}, 1)
		p.release = c.releaseSpool
	}
	return nil
}

// releaseSpool drops one user of the spool; the last, Close or a pipe that
// outlived Close's deadline, closes it, since a pipe reads the spool's
// mappings until it ends.
func (c *core) releaseSpool() error {
	if c.spoolRefs.Add(-1) != 0 {
		return nil
	}
	if err := c.spool.Close(); err != nil {
		return fmt.Errorf("audit: close spool: %w", err)
	}
	return nil
}

// spoolBufs recycles the buffers events are encoded into.
var spoolBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// spoolEvent appends e, for the destinations in route, to the spool. A full
// spool waits for room until wait passes without segments freed (shared
// through deadline, as [pipe.put] does), or ctx ends.
func (c *core) spoolEvent(ctx context.Context, route Route, e *Event, wait time.Duration, deadline *time.Time) error {
	bp := spoolBufs.Get().(*[]byte)
	rec := appendSpoolRecord((*bp)[:0], route, e)
	defer func() {
		if cap(rec) <= 64<<10 {
			*bp = rec[:0]
			spoolBufs.Put(bp)
		}
	}()
	for {
		room := c.spool.Room()
		pos, idx, err := c.spool.Append(rec)
		if err == nil {
			c.live(route, idx, e)
			if c.opts.Spool.Sync == SpoolSyncEach {
				if err := c.spool.WaitSynced(pos); err != nil {
					return fmt.Errorf("%w: %w", ErrSpool, err)
				}
			}
			return nil
		}
		if !errors.Is(err, spool.ErrFull) || wait <= 0 {
			return fmt.Errorf("%w: %w", ErrSpool, err)
		}
		if deadline.IsZero() {
			*deadline = time.Now().Add(wait)
		}
		left := time.Until(*deadline)
		if left <= 0 {
			return fmt.Errorf("%w: %w", ErrSpool, err)
		}
		timer := time.NewTimer(left)
		var done <-chan struct{}
		if ctx != nil {
			done = ctx.Done()
		}
		select {
		case <-room:
			// Destinations delivered and freed segments: they are slow,
			// not stalled, so the wait starts over.
			timer.Stop()
			*deadline = time.Now().Add(wait)
		case <-timer.C:
			return fmt.Errorf("%w: %w", ErrSpool, err)
		case <-done:
			timer.Stop()
			return fmt.Errorf("%w: %w: %w", ErrSpool, err, ctx.Err())
		case <-c.closing:
			timer.Stop()
			return ErrClosed
		}
	}
}

// live hands e, spooled as record idx for the destinations in route, to
// their pipes' rings.
func (c *core) live(route Route, idx uint64, e *Event) {
	if route&RouteStore != 0 && c.store != nil && c.store.ring != nil {
		c.store.ring.put(idx, e)
	}
	if route&RouteExport != 0 {
		for _, p := range c.sinks {
			p.ring.put(idx, e)
		}
	}
}

// liveRing holds the events a pipe is about to read from the spool while
// they are still in memory, so that the live path does not decode what
// the logging call has just encoded: the spool is read back only after a
// restart, or for records whose events the ring no longer holds (the pipe
// fell behind by more than the ring, as in an outage) or does not hold yet
// (the pipe read the record before the logging call put its event).
// Slot idx%len holds the event of spool record idx, tagged idx+1; the
// reader takes it by the record's index, so each record is delivered once
// whichever way it is read, and acknowledgements, segment deletion and
// replay work on the spool's positions as before.
type liveRing struct {
	slots []liveSlot
}

type liveSlot struct {
	mu  sync.Mutex
	tag uint64 // the record's index + 1; 0 when empty
	ev  Event
}

func newLiveRing(size int) *liveRing {
	return &liveRing{slots: make([]liveSlot, max(size, 1))}
}

// put holds e as the event of record idx, in place of an older one.
func (r *liveRing) put(idx uint64, e *Event) {
	s := &r.slots[idx%uint64(len(r.slots))]
	s.mu.Lock()
	s.tag, s.ev = idx+1, *e
	s.mu.Unlock()
}

// take returns the event of record idx and empties its slot, or false when
// the ring does not hold it.
func (r *liveRing) take(idx uint64) (Event, bool) {
	s := &r.slots[idx%uint64(len(r.slots))]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tag != idx+1 {
		return Event{}, false
	}
	ev := s.ev
	s.tag, s.ev = 0, Event{}
	return ev, true
}

// runSpool is a pipe's goroutine when the Logger has a spool: it reads the
// events routed to it from its reader, writes them in batches of up to
// p.batch (sooner when BatchSize are waiting, FlushInterval has passed, or
// Flush asks), and acknowledges them. Events it gives up (refused, out of
// attempts) are acknowledged and counted as failed; events it could not
// write when the Logger closed stay in the spool for the next start.
func (p *pipe) runSpool(need Route) {
	defer close(p.done)
	defer func() {
		if err := p.release(); err != nil {
			p.report(err)
		}
	}()
	r := p.reader
	trigger := max(min(p.opts.BatchSize, p.batch), 1)
	r.SetBatch(trigger)
	batch := make([]Event, 0, min(p.batch, 1024))
	var arena spoolArena
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	armed := false
	for {
		stopping := false
		select {
		case <-r.Wake():
			if n := r.Pending(); n < uint64(trigger) {
				if n > 0 && !armed {
					timer.Reset(p.opts.FlushInterval)
					armed = true
				}
				continue
			}
		case <-timer.C:
			armed = false
		case <-p.flushReq:
		case <-p.stop:
			stopping = true
		}
		if armed {
			timer.Stop()
			armed = false
		}
		for {
			batch = batch[:0]
			read := 0
			for len(batch) < p.batch {
				idx := r.Index()
				rec, ok := r.Next()
				if !ok {
					break
				}
				read++
				if ev, ok := p.ring.take(idx); ok {
					batch = append(batch, ev)
					continue
				}
				route, ev, err := decodeSpoolRecord(rec, &arena)
				if err != nil {
					p.failed.Add(1)
					p.report(fmt.Errorf("audit: %s: spool record unreadable, skipped: %w", p.name, err))
					continue
				}
				if route&need != 0 {
					p.decoded.Add(1)
					batch = append(batch, ev)
				}
			}
			if read == 0 {
				break
			}
			if len(batch) > 0 {
				p.received.Add(uint64(len(batch)))
				written, failed := p.deliver(batch)
				if p.base.Err() != nil && written < len(batch) {
					// Closing gave up: leave the batch in the spool, unacknowledged.
					p.received.Add(^uint64(len(batch) - 1))
					return
				}
				p.written.Add(uint64(written))
				p.failed.Add(uint64(failed))
				clear(batch)
			}
			if err := r.Ack(); err != nil {
				p.report(err)
			}
			p.flushed()
		}
		p.flushed()
		if stopping {
			return
		}
	}
}

// flushed releases the Flush calls whose events have all been delivered.
func (p *pipe) flushed() {
	acked := p.reader.Acked()
	p.flushMu.Lock()
	keep := p.flushWait[:0]
	for _, w := range p.flushWait {
		if w.target <= acked {
			close(w.done)
		} else {
			keep = append(keep, w)
		}
	}
	clear(p.flushWait[len(keep):])
	p.flushWait = keep
	p.flushMu.Unlock()
}

// flushWaiter is a Flush call waiting until a pipe has acknowledged target
// records.
type flushWaiter struct {
	target uint64
	done   chan struct{}
}

// spoolFlush asks every pipe to deliver what the spool holds now and returns
// the channels closed once each has.
func (c *core) spoolFlush() []chan struct{} {
	target := c.spool.Appended()
	marks := make([]chan struct{}, len(c.pipes))
	for i, p := range c.pipes {
		marks[i] = make(chan struct{})
		p.flushMu.Lock()
		p.flushWait = append(p.flushWait, flushWaiter{target: target, done: marks[i]})
		p.flushMu.Unlock()
		select {
		case p.flushReq <- struct{}{}:
		default:
		}
	}
	return marks
}

// spoolRouted spools e for the destinations of route that exist, and
// counts and reports the event when it cannot.
func (c *core) spoolRouted(ctx context.Context, route Route, e *Event, wait time.Duration, deadline *time.Time) error {
	route &= RouteStore | RouteExport
	if c.store == nil {
		route &^= RouteStore
	}
	if len(c.sinks) == 0 {
		route &^= RouteExport
	}
	if route == 0 {
		return nil
	}
	err := c.spoolEvent(ctx, route, e, wait, deadline)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrClosed) {
		c.refused.Add(1)
		return err
	}
	c.dropped.Add(1)
	c.pipes[0].drops.add(err)
	return fmt.Errorf("audit: dropped event %s (type %q): %w", e.ID, e.Type, err)
}
