package audit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// item is what travels through a pipe's queue: an event, or a flush marker
// that is closed once everything queued before it has been delivered.
type item struct {
	ev    Event
	flush chan struct{}
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

	q    chan item
	stop chan struct{} // closed by Close once nothing more is sent
	done chan struct{} // closed when run returns
	base context.Context

	received, written, dropped, failed, retried atomic.Uint64
}

func newPipe(name string, dest any, write func(context.Context, []Event) error, size int, opts *Options, base context.Context) *pipe {
	return &pipe{
		name:   name,
		dest:   dest,
		write:  write,
		opts:   opts,
		report: opts.ErrorHandler,
		q:      make(chan item, size),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		base:   base,
	}
}

// run is the pipe's goroutine; it returns after stop is closed and the queue
// has been drained.
func (p *pipe) run() {
	defer close(p.done)
	batch := make([]Event, 0, p.opts.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	deliver := func() {
		timer.Stop()
		if len(batch) > 0 {
			p.deliver(batch)
			clear(batch) // drop references to params and strings
			batch = batch[:0]
		}
	}
	take := func(it item) {
		if it.flush != nil {
			deliver()
			close(it.flush)
			return
		}
		p.received.Add(1)
		batch = append(batch, it.ev)
		if len(batch) == 1 {
			timer.Reset(p.opts.FlushInterval)
		}
		if len(batch) >= p.opts.BatchSize {
			deliver()
		}
	}
	for {
		select {
		case it := <-p.q:
			take(it)
		case <-timer.C:
			deliver()
		case <-p.stop:
			for {
				select {
				case it := <-p.q:
					take(it)
				default:
					deliver()
					return
				}
			}
		}
	}
}

// put queues it. A full queue waits up to wait (0: not at all), or until ctx
// ends or the Logger closes, then gives up with ErrQueueFull.
func (p *pipe) put(ctx context.Context, it item, wait time.Duration, closing <-chan struct{}) error {
	select {
	case p.q <- it:
		return nil
	default:
	}
	if wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		var done <-chan struct{}
		if ctx != nil {
			done = ctx.Done()
		}
		select {
		case p.q <- it:
			return nil
		case <-timer.C:
		case <-done:
			return fmt.Errorf("%w: %s: %w", ErrQueueFull, p.name, ctx.Err())
		case <-closing:
			return ErrClosed
		}
	}
	return fmt.Errorf("%w: %s (%d events waiting)", ErrQueueFull, p.name, cap(p.q))
}

// deliver writes batch with retries. Permanent errors split the batch to
// isolate the events the destination refuses; the others are delivered.
func (p *pipe) deliver(batch []Event) {
	backoff := p.opts.RetryMin
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(p.base, p.opts.WriteTimeout)
		err := p.write(ctx, batch)
		cancel()
		if err == nil {
			p.written.Add(uint64(len(batch)))
			return
		}
		switch {
		case IsPermanent(err) && len(batch) > 1:
			half := len(batch) / 2
			p.deliver(batch[:half])
			p.deliver(batch[half:])
			return
		case IsPermanent(err):
			p.failed.Add(1)
			p.report(fmt.Errorf("audit: %s refused event %s (type %q): %w", p.name, batch[0].ID, batch[0].Type, err))
			return
		case p.base.Err() != nil:
			p.failed.Add(uint64(len(batch)))
			p.report(fmt.Errorf("audit: %s: gave up %d events at close: %w", p.name, len(batch), err))
			return
		case p.opts.MaxAttempts > 0 && attempt >= p.opts.MaxAttempts:
			p.failed.Add(uint64(len(batch)))
			p.report(fmt.Errorf("audit: %s: gave up %d events after %d attempts: %w", p.name, len(batch), attempt, err))
			return
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

func (p *pipe) stats() PipeStats {
	depth := len(p.q)
	return PipeStats{
		Name:       p.name,
		Logged:     p.received.Load() + uint64(depth),
		Written:    p.written.Load(),
		Dropped:    p.dropped.Load(),
		Failed:     p.failed.Load(),
		Retried:    p.retried.Load(),
		QueueDepth: depth,
	}
}
