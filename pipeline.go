package audit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditkit/audit/internal/spool"
)

// item is what travels through a pipe's queue: an event, or a flush marker
// that is closed once everything queued before it has been delivered.
type item struct {
	ev    Event
	flush chan struct{}
}

// queue is a bounded FIFO of items for one consumer. Producers append under a
// mutex; the consumer takes everything queued at once by swapping buffers,
// so the per-event cost is an append, and batches form without a handoff
// per event.
//
// The bound counts every event not yet delivered: those queued and those the
// consumer has taken but not written. The consumer gives room back batch by
// batch ([queue.release]), so a full queue admits new events as soon as one
// batch is written, not after everything taken. Producers that find no room
// wait in line, and release admits them in the order they came.
type queue struct {
	mu      sync.Mutex
	items   []item
	flushes int // flush markers in items
	pending int // events queued or taken and not yet released
	// abandoned is set when Close gave up waiting: the events pending then
	// were counted as failed, and releases no longer count.
	abandoned bool
	waiters   []*waiter
	// released is when room was last given back (Unix nanoseconds): the
	// destination's last progress.
	released atomic.Int64
	// writing is when the write under way began (Unix nanoseconds), 0
	// when none is: a write under way is progress, for a while (see
	// writePatience).
	writing atomic.Int64
	limit   int
	batch   int
	wake    chan struct{} // capacity 1: tells the consumer to look
}

// waiter is a producer waiting for room. admitted is closed once release has
// queued its item.
type waiter struct {
	it       item
	admitted chan struct{}
	ok       bool // queued (under queue.mu)
	gone     bool // gave up (under queue.mu)
}

func newQueue(limit, batch int) *queue {
	return &queue{limit: limit, batch: batch, wake: make(chan struct{}, 1)}
}

// push appends it. An event does not fit in a full queue, nor while others
// wait for room: then push returns false. Flush markers always fit.
func (q *queue) push(it item) bool {
	q.mu.Lock()
	if it.flush == nil && (q.pending >= q.limit || len(q.waiters) > 0) {
		q.mu.Unlock()
		return false
	}
	n := q.append(it)
	q.mu.Unlock()
	if n == 1 || n >= q.batch || it.flush != nil {
		q.signal()
	}
	return true
}

// append queues it under q.mu and returns the number of items queued.
func (q *queue) append(it item) int {
	q.items = append(q.items, it)
	if it.flush != nil {
		q.flushes++
	} else {
		q.pending++
	}
	return len(q.items)
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// wait queues it, or joins the line of producers waiting for room and
// returns the waiter; the item is then queued when release admits it.
func (q *queue) wait(it item) (*waiter, bool) {
	q.mu.Lock()
	if q.pending < q.limit && len(q.waiters) == 0 {
		n := q.append(it)
		q.mu.Unlock()
		if n == 1 || n >= q.batch {
			q.signal()
		}
		return nil, true
	}
	w := &waiter{it: it, admitted: make(chan struct{})}
	q.waiters = append(q.waiters, w)
	q.mu.Unlock()
	return w, false
}

// cancel withdraws w from the line. It reports false when w was admitted
// meanwhile, and its item is queued after all.
func (q *queue) cancel(w *waiter) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w.ok {
		return false
	}
	w.gone = true
	return true
}

// release gives back room for n events delivered or given up, calls count
// to count them unless the queue was abandoned (which counted them), and
// admits waiting producers, first come first served.
func (q *queue) release(n int, count func()) {
	q.mu.Lock()
	q.pending -= n
	if !q.abandoned {
		count()
	}
	admitted := 0
	for len(q.waiters) > 0 && q.pending < q.limit {
		w := q.waiters[0]
		q.waiters[0] = nil
		q.waiters = q.waiters[1:]
		if w.gone {
			continue
		}
		q.append(w.it)
		w.ok = true
		close(w.admitted)
		admitted++
	}
	if len(q.waiters) == 0 {
		q.waiters = nil // let the backing array go
	}
	if n > 0 {
		q.released.Store(time.Now().UnixNano())
	}
	ready := len(q.items) >= q.batch
	q.mu.Unlock()
	if admitted > 0 && ready {
		q.signal()
	}
}

// ready reports how many items are queued and whether the consumer should
// take them now (a full batch, or a flush marker, is waiting).
func (q *queue) ready() (int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), len(q.items) >= q.batch || q.flushes > 0
}

// take returns everything queued and leaves spare, emptied, in its place.
// The events taken keep their room until released.
func (q *queue) take(spare []item) []item {
	q.mu.Lock()
	items := q.items
	q.items = spare[:0]
	q.flushes = 0
	q.mu.Unlock()
	return items
}

// abandon returns the number of events queued or taken and not yet
// delivered or given up, which the caller counts as failed; later releases
// no longer count.
func (q *queue) abandon() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.abandoned {
		return 0
	}
	q.abandoned = true
	return q.pending
}

// depth returns the number of events queued and not yet taken.
func (q *queue) depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.flushes
}

// pipe is one destination's delivery machinery: a bounded queue, a goroutine
// that batches by size and by interval, and retries with backoff. The store
// has one pipe and each sink has its own, so a slow destination only fills
// its own queue.
type pipe struct {
	name   string
	dest   any // the Store or Sink, for Flusher and Closer
	write  func(context.Context, []Event) error
	opts   *Options
	report func(error)

	q     *queue
	drops *dropSummary

	// With a spool, the pipe reads its events from reader instead of q,
	// taking those still in memory from ring.
	reader    *spool.Reader
	ring      *liveRing
	decoded   atomic.Uint64 // events read back from the spool
	flushReq  chan struct{} // capacity 1: a Flush waits
	flushMu   sync.Mutex
	flushWait []flushWaiter
	release   func() error  // called as runSpool ends
	batch     int           // the largest batch: Options.MaxBatchSize, or the destination's BatchSizer
	stop      chan struct{} // closed by Close once nothing more is sent
	done      chan struct{} // closed when run returns
	base      context.Context

	received, written, dropped, failed, retried atomic.Uint64
}

func newPipe(name string, dest any, write func(context.Context, []Event) error, size int, opts *Options, base context.Context) *pipe {
	trigger, batch := opts.BatchSize, opts.MaxBatchSize
	if bs, ok := dest.(BatchSizer); ok && bs.BatchSize() > 0 {
		trigger, batch = bs.BatchSize(), bs.BatchSize()
	}
	// A full queue must wake the consumer: never wait for more events than
	// half of what the queue holds.
	trigger = max(min(trigger, size/2), 1)
	// A batch holds its room until written: never more than half the queue.
	batch = max(min(batch, size/2), 1)
	return &pipe{
		batch:  batch,
		name:   name,
		dest:   dest,
		write:  write,
		opts:   opts,
		report: opts.ErrorHandler,
		q:      newQueue(size, trigger),
		drops:  newDropSummary(name, opts.DropReportInterval, opts.ErrorHandler),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		base:   base,
	}
}

// run is the pipe's goroutine. It takes the queue's items when BatchSize
// events wait, a flush marker waits, FlushInterval has passed since the
// first waiting event, or the pipe stops; it returns after stop is closed
// and the queue has been drained. It writes what it took in batches of up
// to p.batch events, so batches grow with the backlog: what queued while
// one batch was written goes out in the next.
func (p *pipe) run() {
	defer close(p.done)
	var spare []item
	batch := make([]Event, 0, p.batch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	armed := false
	sizer := batchSizer{min: min(p.opts.BatchSize, p.batch), max: p.batch, budget: p.opts.BlockTimeout / 4}
	limit := sizer.limit()
	deliver := func() {
		if len(batch) > 0 {
			start := time.Now()
			written, failed := p.deliver(batch)
			sizer.observe(len(batch), time.Since(start))
			limit = sizer.limit()
			p.q.release(len(batch), func() {
				p.written.Add(uint64(written))
				p.failed.Add(uint64(failed))
			})
			clear(batch) // drop references to params and strings
			batch = batch[:0]
		}
	}
	for {
		stopping := false
		select {
		case <-p.q.wake:
			n, now := p.q.ready()
			if !now {
				if n > 0 && !armed {
					timer.Reset(p.opts.FlushInterval)
					armed = true
				}
				continue
			}
		case <-timer.C:
			armed = false
		case <-p.stop:
			stopping = true
		}
		for {
			items := p.q.take(spare)
			if len(items) == 0 && stopping {
				return
			}
			if armed {
				timer.Stop()
				armed = false
			}
			events := 0
			for i := range items {
				if items[i].flush == nil {
					events++
				}
			}
			p.received.Add(uint64(events))
			for i := range items {
				if m := items[i].flush; m != nil {
					deliver()
					close(m)
					continue
				}
				batch = append(batch, items[i].ev)
				if len(batch) >= limit {
					deliver()
				}
			}
			deliver()
			clear(items)
			spare = items
			if !stopping {
				break
			}
		}
	}
}

// writePatience is how many times BlockTimeout a write under way counts as
// progress: a healthy store whose commit stalls (a loaded machine) is slow,
// not down, while one that hangs is found out after this long.
const writePatience = 4

// put queues it. A full queue makes it wait until room frees, for as long
// as the pipe makes progress: it gives up with ErrQueueFull once wait (0: at
// once) has passed without a batch delivered and without a write under way
// (a write counts for writePatience times wait from its start), or when ctx
// ends or the Logger closes. deadline, shared by the calls of one logging
// call, is when the wait ends without progress: the first of them to wait
// sets it, and each delivered batch (or write under way) moves it on.
// Callers that wait are admitted in the order they came.
func (p *pipe) put(ctx context.Context, it item, wait time.Duration, deadline *time.Time, closing <-chan struct{}) error {
	if p.q.push(it) {
		return nil
	}
	full := fmt.Errorf("%w: %s (%d events waiting, none delivered for %s)", ErrQueueFull, p.name, p.q.limit, wait)
	if wait <= 0 {
		return full
	}
	if deadline.IsZero() {
		*deadline = time.Now().Add(wait)
	}
	left := time.Until(*deadline)
	if left <= 0 {
		return full
	}
	w, ok := p.q.wait(it)
	if ok {
		return nil
	}
	timer := time.NewTimer(left)
	defer timer.Stop()
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	var err error
wait:
	for {
		select {
		case <-w.admitted:
			return nil
		case <-timer.C:
			// A batch delivered since the wait began means the destination
			// is slow, not stalled: wait from that delivery on. The time
			// is that of the release, not of this goroutine noticing it.
			next := time.Unix(0, p.q.released.Load()).Add(wait)
			if w := p.q.writing.Load(); w != 0 {
				// A write under way: the destination is working.
				if t := time.Unix(0, w).Add(writePatience * wait); t.After(next) {
					next = t
				}
			}
			if next.After(*deadline) {
				if d := time.Until(next); d > 0 {
					*deadline = next
					timer.Reset(d)
					continue
				}
			}
			err = full
			break wait
		case <-done:
			err = fmt.Errorf("%w: %s: %w", ErrQueueFull, p.name, ctx.Err())
			break wait
		case <-closing:
			err = ErrClosed
			break wait
		}
	}
	if !p.q.cancel(w) {
		return nil // admitted as it gave up: queued after all
	}
	return err
}

// deliver writes batch with retries and returns how many events were
// written and how many given up. Permanent errors split the batch to
// isolate the events the destination refuses; the others are delivered.
// The refused events of the batch are reported once, together: the count,
// the first one and its error.
func (p *pipe) deliver(batch []Event) (written, failed int) {
	var r refusals
	written, failed = p.deliverSplit(batch, &r)
	switch {
	case r.n == 1:
		p.report(fmt.Errorf("audit: %s refused event %s (type %q): %w", p.name, r.first.ID, r.first.Type, r.err))
	case r.n > 1:
		p.report(fmt.Errorf("audit: %s refused %d events, the first %s (type %q): %w", p.name, r.n, r.first.ID, r.first.Type, r.err))
	}
	return written, failed
}

// refusals are the events of one batch that a destination refused for
// good: how many, and the first with its error.
type refusals struct {
	n     int
	first *Event
	err   error
}

func (p *pipe) deliverSplit(batch []Event, r *refusals) (written, failed int) {
	backoff := p.opts.RetryMin
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(p.base, p.opts.WriteTimeout)
		p.q.writing.Store(time.Now().UnixNano())
		err := p.write(ctx, batch)
		p.q.writing.Store(0)
		cancel()
		if err == nil {
			return len(batch), 0
		}
		var partial *PartialError
		if errors.As(err, &partial) {
			lost := min(max(partial.Lost, 0), len(batch))
			return len(batch) - lost, lost
		}
		switch {
		case IsPermanent(err) && len(batch) > 1:
			half := len(batch) / 2
			w1, f1 := p.deliverSplit(batch[:half], r)
			w2, f2 := p.deliverSplit(batch[half:], r)
			return w1 + w2, f1 + f2
		case IsPermanent(err):
			if r.n == 0 {
				r.first, r.err = &batch[0], err
			}
			r.n++
			return 0, 1
		case p.base.Err() != nil:
			p.report(fmt.Errorf("audit: %s: gave up %d events at close: %w", p.name, len(batch), err))
			return 0, len(batch)
		case p.opts.MaxAttempts > 0 && attempt >= p.opts.MaxAttempts:
			p.report(fmt.Errorf("audit: %s: gave up %d events after %d attempts: %w", p.name, len(batch), attempt, err))
			return 0, len(batch)
		}
		p.retried.Add(1)
		p.report(fmt.Errorf("audit: %s: writing %d events failed (attempt %d), retrying: %w", p.name, len(batch), attempt, err))
		if !sleep(p.base, jitter(backoff)) {
			continue // closing: the next attempt runs on a cancelled context and gives up
		}
		backoff = min(backoff*2, p.opts.RetryMax)
	}
}

// writeSync writes one event in the caller's goroutine (Options.Sync),
// retrying transient failures until ctx ends, WriteTimeout has passed in
// total, or MaxAttempts is reached.
func (p *pipe) writeSync(ctx context.Context, ev Event) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.WriteTimeout)
	defer cancel()
	batch := []Event{ev}
	backoff := p.opts.RetryMin
	for attempt := 1; ; attempt++ {
		err := p.write(ctx, batch)
		if err == nil {
			p.received.Add(1)
			p.written.Add(1)
			return nil
		}
		if IsPermanent(err) || ctx.Err() != nil || (p.opts.MaxAttempts > 0 && attempt >= p.opts.MaxAttempts) || !sleep(ctx, jitter(backoff)) {
			p.received.Add(1)
			p.failed.Add(1)
			return fmt.Errorf("audit: %s: event %s not written after %d attempts: %w", p.name, ev.ID, attempt, err)
		}
		p.retried.Add(1)
		backoff = min(backoff*2, p.opts.RetryMax)
	}
}

// batchSizer sizes batches by the destination's measured speed: as large as
// it can write within budget (a quarter of BlockTimeout), between min and
// max; the speed follows a slowdown at once and a speedup gradually. A
// batch holds its room in the queue while it is written, so this bounds how
// long a caller waits for room when the destination is healthy
// but slower than the callers, while a fast destination gets large batches.
type batchSizer struct {
	min, max int
	budget   time.Duration
	rate     float64 // events per second, smoothed; 0 before the first batch
}

// observe records that n events were written in d.
func (s *batchSizer) observe(n int, d time.Duration) {
	if n < s.min/2 || d <= 0 {
		return // small batches measure the round trip, not the speed
	}
	r := float64(n) / d.Seconds()
	if s.rate == 0 || r < s.rate {
		// A slowdown counts at once: the next batch must not hold its
		// callers' room longer than the budget.
		s.rate = r
		return
	}
	s.rate = 0.7*s.rate + 0.3*r
}

// limit returns the largest batch to write next.
func (s *batchSizer) limit() int {
	if s.rate == 0 {
		return s.min
	}
	return max(s.min, min(s.max, int(s.rate*s.budget.Seconds())))
}

// jitter returns a duration in [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// sleep waits for d or until ctx ends, and reports whether it slept fully.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *pipe) stats() SinkStats {
	depth := p.q.depth()
	if p.reader != nil {
		depth = int(p.reader.Pending())
	}
	return SinkStats{
		Name:       p.name,
		Logged:     p.received.Load() + uint64(depth),
		Written:    p.written.Load(),
		Dropped:    p.dropped.Load(),
		Failed:     p.failed.Load(),
		Retried:    p.retried.Load(),
		QueueDepth: depth,
	}
}
