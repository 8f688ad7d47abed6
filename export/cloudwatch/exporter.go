package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
)

// Exporter is an [audit.Sink] that sends events to CloudWatch Logs. It is
// safe for concurrent use. Create it with [New].
type Exporter struct {
	opts   Options
	blocks []block // Options.Blocks
	shared API     // the connection of the blocks without their own
	dyn    dynamic // the blocks from Options.SettingsBlocks

	stop  context.Context // cancelled when Close gives up waiting
	abort context.CancelFunc

	mu      sync.Mutex
	closed  bool
	sends   sync.WaitGroup
	settled settledSet

	c counters
}

var (
	_ audit.Sink    = (*Exporter)(nil)
	_ audit.Flusher = (*Exporter)(nil)
	_ audit.Closer  = (*Exporter)(nil)
	_ audit.Namer   = (*Exporter)(nil)
)

// block is a Block ready for matching.
type block struct {
	Block
	api    API
	levels uint16          // bit l set: level l matches; 0: all
	types  map[string]bool // nil: all
}

func (b *block) match(e *audit.Event) bool {
	return !b.Disabled &&
		(b.levels == 0 || b.levels&(1<<e.Level) != 0) &&
		(b.types == nil || b.types[e.Type])
}

func (b *block) stream(typ string) string {
	if s, ok := b.Streams[typ]; ok {
		return s
	}
	return b.DefaultStream
}

// New returns an Exporter, or an error naming the first invalid option.
func New(opts Options) (*Exporter, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	x := &Exporter{opts: opts, settled: settledSet{m: map[partKey]struct{}{}}}
	x.stop, x.abort = context.WithCancel(context.Background())
	x.blocks = build(opts.Blocks, &x.opts, &x.shared)
	return x, nil
}

// Name returns Options.Name ("cloudwatch" by default).
func (x *Exporter) Name() string { return x.opts.Name }

// BatchSize implements [audit.BatchSizer]: the Logger hands the exporter
// batches as large as its largest enabled block's BatchSize, so requests can
// fill up instead of stopping at the Logger's default batch. With
// Options.SettingsBlocks it is [MaxBatchEvents], since the blocks may
// change; each block's BatchSize still bounds its requests.
func (x *Exporter) BatchSize() int {
	if x.opts.SettingsBlocks != nil {
		return MaxBatchEvents
	}
	n := 0
	for i := range x.blocks {
		if !x.blocks[i].Disabled {
			n = max(n, x.blocks[i].BatchSize)
		}
	}
	return n
}

// Send delivers the events before it returns; see the package doc for what
// happens to each event and which errors Send returns.
func (x *Exporter) Send(ctx context.Context, events []audit.Event) error {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return audit.Permanent(fmt.Errorf("cloudwatch: send: %w", audit.ErrClosed))
	}
	x.sends.Add(1)
	x.mu.Unlock()
	defer x.sends.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(x.stop, cancel)()

	var out outcome
	dests := x.route(events, &out)
	for _, d := range dests {
		out.total += len(d.items)
	}
	for i, d := range dests {
		if err := x.deliver(ctx, d, &out); err != nil && transient(ctx, err) {
			// The service is unwell or time is up: hand the rest back
			// rather than wait out every destination's retries.
			for _, rest := range dests[i+1:] {
				out.fail(rest.items, err)
			}
			break
		}
	}
	if out.failed == 0 {
		if out.lost > 0 {
			// Reported to OnError already; the Logger only counts them.
			return &audit.PartialError{Lost: out.lost, Err: fmt.Errorf("cloudwatch: %d of %d events lost for good", out.lost, len(events))}
		}
		return nil
	}
	x.c.failed.Add(uint64(out.failed))
	x.mu.Lock()
	x.settled.add(out.settled)
	x.mu.Unlock()
	err := fmt.Errorf("cloudwatch: %d of %d log events not delivered: %w", out.failed, out.total, errors.Join(out.errs...))
	if out.unavailable {
		err = fmt.Errorf("%w: %w", audit.ErrUnavailable, err)
	}
	return err
}

// Flush returns at once: Send delivers before it returns, so the exporter
// holds nothing. After Close it returns [audit.ErrClosed].
func (x *Exporter) Flush(context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return fmt.Errorf("cloudwatch: flush: %w", audit.ErrClosed)
	}
	return nil
}

// Close refuses new Sends and waits for those in flight to deliver. When ctx
// ends first, it cancels them (they return what they did not deliver) and
// returns ctx's error. Close may be called more than once.
func (x *Exporter) Close(ctx context.Context) error {
	x.mu.Lock()
	x.closed = true
	x.mu.Unlock()
	done := make(chan struct{})
	go func() {
		x.sends.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		x.abort()
		<-done
		return fmt.Errorf("cloudwatch: close: %w", ctx.Err())
	}
}

// partKey names one log event: an audit event, or one part of a split one.
type partKey struct {
	id   uuid.UUID
	part int
}

// item is one log event on its way.
type item struct {
	key partKey
	ts  int64 // milliseconds since the epoch
	msg string
}

// dest is the log events of one Send going to one block's stream.
type dest struct {
	b      *block
	stream string
	items  []item
}

// outcome is what became of a Send's log events.
type outcome struct {
	total       int
	settled     []partKey // delivered, or lost for good and reported
	failed      int       // not delivered; worth another Send
	lost        int       // events lost for good and reported to OnError
	errs        []error
	unavailable bool
}

func (o *outcome) settle(items []item) {
	for _, it := range items {
		o.settled = append(o.settled, it.key)
	}
}

func (o *outcome) fail(items []item, err error) {
	if len(items) == 0 {
		return
	}
	o.failed += len(items)
	if !slices.ContainsFunc(o.errs, func(e error) bool { return e.Error() == err.Error() }) {
		o.errs = append(o.errs, err)
	}
	if transient(context.Background(), err) {
		o.unavailable = true
	}
}

// route matches events to blocks and renders them, holding back the events
// the service would reject for their time.
func (x *Exporter) route(events []audit.Event, out *outcome) []*dest {
	type destKey struct {
		block  int
		stream string
	}
	type lossKey struct {
		d   *dest
		err error
	}
	byKey := map[destKey]*dest{}
	var dests []*dest
	losses := map[lossKey][]uuid.UUID{}
	var lossOrder []lossKey
	now := x.opts.Now()
	limit := x.opts.MaxEventSize - EventOverhead
	blocks := x.current()

	for i := range events {
		e := &events[i]
		bi := slices.IndexFunc(blocks, func(b block) bool { return b.match(e) })
		if bi < 0 {
			x.c.unmatched.Add(1)
			continue
		}
		b := &blocks[bi]
		k := destKey{bi, b.stream(e.Type)}
		d := byKey[k]
		if d == nil {
			d = &dest{b: b, stream: k.stream}
			byKey[k] = d
			dests = append(dests, d)
		}
		var reason error
		switch {
		case e.Time.Before(now.Add(-MaxAge)):
			reason = ErrTooOld
		case e.Time.Before(now.Add(-b.Retention)):
			reason = ErrExpired
		case e.Time.After(now.Add(MaxAhead)):
			reason = ErrTooNew
		}
		if reason != nil {
			if x.wasSettled(partKey{e.ID, 0}) {
				x.c.deduplicated.Add(1)
				continue
			}
			lk := lossKey{d, reason}
			if losses[lk] == nil {
				lossOrder = append(lossOrder, lk)
			}
			losses[lk] = append(losses[lk], e.ID)
			out.settled = append(out.settled, partKey{e.ID, 0})
			continue
		}
		parts, changed := fit(render(e, &b.Block), limit, x.opts.Oversize, e.ID.String())
		if changed {
			if x.opts.Oversize == OversizeSplit {
				x.c.split.Add(1)
			} else {
				x.c.truncated.Add(1)
			}
		}
		ts := e.Time.UnixMilli()
		for p, msg := range parts {
			key := partKey{e.ID, p}
			if x.wasSettled(key) {
				x.c.deduplicated.Add(1)
				continue
			}
			d.items = append(d.items, item{key, ts, msg})
		}
	}
	for _, lk := range lossOrder {
		x.lose(lk.d, lk.err, false, losses[lk], nil, out)
	}
	return slices.DeleteFunc(dests, func(d *dest) bool { return len(d.items) == 0 })
}

// wasSettled reports whether an earlier, failed Send delivered or reported
// the log event.
func (x *Exporter) wasSettled(k partKey) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	_, ok := x.settled.m[k]
	return ok
}

// lose reports events that will not be delivered.
func (x *Exporter) lose(d *dest, reason error, sent bool, ids []uuid.UUID, cause error, out *outcome) {
	ids = slices.Compact(ids) // the parts of a split event are adjacent
	out.lost += len(ids)
	var c *atomic.Uint64
	switch reason {
	case ErrTooOld:
		c = &x.c.tooOld
	case ErrExpired:
		c = &x.c.expired
	case ErrTooNew:
		c = &x.c.tooNew
	default:
		c = &x.c.poison
	}
	c.Add(uint64(len(ids)))
	x.opts.OnError(&EventsError{Err: reason, Sent: sent, Block: d.b.Name, Group: d.b.LogGroup, Stream: d.stream, IDs: ids, Cause: cause})
}

// settledSet remembers the log events a failed Send delivered or lost for
// good, so the Logger's retry of the same batch does not send them again.
// It keeps the newest maxSettled keys.
type settledSet struct {
	m     map[partKey]struct{}
	order []partKey
}

const maxSettled = 1 << 17

func (s *settledSet) add(keys []partKey) {
	for _, k := range keys {
		if _, ok := s.m[k]; !ok {
			s.m[k] = struct{}{}
			s.order = append(s.order, k)
		}
	}
	if n := len(s.order) - maxSettled; n > 0 {
		for _, k := range s.order[:n] {
			delete(s.m, k)
		}
		s.order = slices.Clone(s.order[n:])
	}
}
