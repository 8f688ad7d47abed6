package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditkit/audit"
)

// Options configures a [Sink]. URL or Conn is required.
type Options struct {
	// URL is the NATS server URL, or a comma-separated list of them
	// ("nats://a:4222,nats://b:4222"). The sink connects, reconnects
	// forever, and closes the connection at Close.
	URL string
	// Conn is an existing connection to use instead of URL; the sink does
	// not close it.
	Conn *nats.Conn
	// Stream is the stream the events go to; see [Stream].
	Stream Stream
	// Prefix is the first token of the default subjects. Default "audit".
	Prefix string
	// Subject returns an event's subject. Default [Subject] with Prefix:
	// "audit.<level>.<type>". It must return a valid subject (no spaces,
	// no empty tokens, no wildcards) the stream listens to; use [Token]
	// on each part taken from the event.
	Subject func(e *audit.Event) string
	// MaxPending bounds the publishes waiting for their acknowledgement,
	// over all Sends. Default 4096.
	MaxPending int
	// AckTimeout is how long one publish waits for its acknowledgement
	// before it is sent again (with the same message ID). Default 5s.
	AckTimeout time.Duration
	// BatchSize is the batch size the sink asks of the Logger
	// ([audit.BatchSizer]). Default 0: the Logger's.
	BatchSize int
	// Name names the sink in the Logger's Stats. Default "jetstream".
	Name string
	// OnError receives the events lost for good (an [*EventsError]).
	// Default: logged with slog.
	OnError func(error)
}

// EventsError reports events the stream refused for good (larger than
// the stream or server takes), by ID.
type EventsError struct {
	IDs []uuid.UUID
	Err error
}

// Error implements error.
func (e *EventsError) Error() string {
	return fmt.Sprintf("jetstream: %d events refused: %v (first %s)", len(e.IDs), e.Err, e.IDs[0])
}

// Unwrap returns the cause.
func (e *EventsError) Unwrap() error { return e.Err }

// Sink publishes events to a JetStream stream. It implements [audit.Sink],
// [audit.Closer], [audit.Namer] and [audit.BatchSizer]. Send returns once
// every event of the batch is acknowledged by the stream (or lost for
// good), so the sink needs no Flush.
type Sink struct {
	opts  Options
	nc    *nats.Conn
	owned bool
	js    jetstream.JetStream

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
	stop     context.CancelFunc
	stopCtx  context.Context

	published, retried, lost atomic.Int64
}

// New connects (or uses Options.Conn), creates or checks the stream, and
// returns the sink. ctx bounds the setup.
func New(ctx context.Context, opts Options) (*Sink, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if !validSubject(opts.Prefix) {
		return nil, fmt.Errorf("jetstream: %w: Prefix %q is not a subject", audit.ErrInvalidOptions, opts.Prefix)
	}
	opts.Stream = opts.Stream.withDefaults(opts.Prefix)
	if opts.Subject == nil {
		prefix := opts.Prefix
		opts.Subject = func(e *audit.Event) string { return Subject(prefix, e) }
	}
	if opts.MaxPending == 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.AckTimeout == 0 {
		opts.AckTimeout = DefaultAckTimeout
	}
	if opts.Name == "" {
		opts.Name = "jetstream"
	}
	if opts.OnError == nil {
		opts.OnError = defaultOnError
	}
	if opts.MaxPending < 0 || opts.AckTimeout < 0 || opts.BatchSize < 0 {
		return nil, fmt.Errorf("jetstream: %w: MaxPending, AckTimeout and BatchSize must not be negative", audit.ErrInvalidOptions)
	}
	nc, owned, err := connect(opts.Conn, opts.URL, "audit sink", DefaultConnectWait)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(opts.MaxPending),
		jetstream.WithPublishAsyncTimeout(opts.AckTimeout))
	if err == nil {
		err = retry(ctx, func(ctx context.Context) error { return opts.Stream.ensure(ctx, js) })
	}
	if err != nil {
		if owned {
			nc.Close()
		}
		return nil, err
	}
	s := &Sink{opts: opts, nc: nc, owned: owned, js: js}
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	return s, nil
}

// Name implements [audit.Namer].
func (s *Sink) Name() string { return s.opts.Name }

// BatchSize implements [audit.BatchSizer].
func (s *Sink) BatchSize() int { return s.opts.BatchSize }

// SinkStats are the sink's counters.
type SinkStats struct {
	// Published counts events acknowledged by the stream (a duplicate the
	// stream dropped counts: it was stored before).
	Published int64
	// Retried counts publishes sent again after a failure or timeout.
	Retried int64
	// Lost counts events refused for good.
	Lost int64
}

// Stats returns the sink's counters.
func (s *Sink) Stats() SinkStats {
	return SinkStats{Published: s.published.Load(), Retried: s.retried.Load(), Lost: s.lost.Load()}
}

// pending is one event being published.
type pending struct {
	id   uuid.UUID
	subj string
	data []byte
	fut  jetstream.PubAckFuture
	err  error // of the publish call itself
}

// Send publishes events, each as its JSON shape with header Nats-Msg-Id =
// its ID, and returns when all are acknowledged. A publish that fails or
// is not acknowledged within AckTimeout is sent again with the same ID
// (the stream drops the copy when the first one was stored) until ctx
// ends; then Send returns an error wrapping ctx's error and
// [audit.ErrUnavailable], and the Logger sends the batch again. Events the
// stream refuses for good are reported to OnError and counted in the
// returned [*audit.PartialError].
func (s *Sink) Send(ctx context.Context, events []audit.Event) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.inflight.Done()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	ctx, cancel := mergeCancel(ctx, s.stopCtx)
	defer cancel()

	todo := make([]pending, 0, len(events))
	for i := range events {
		e := &events[i]
		subj := s.opts.Subject(e)
		if !validSubject(subj) {
			return audit.Permanent(fmt.Errorf("jetstream: %w: event %s: subject %q", audit.ErrInvalidEvent, e.ID, subj))
		}
		data, err := e.MarshalJSON()
		if err != nil {
			return audit.Permanent(fmt.Errorf("jetstream: event %s: %w", e.ID, err))
		}
		todo = append(todo, pending{id: e.ID, subj: subj, data: data})
	}
	r := &sendRound{s: s}
	backoff := newBackoff()
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff.next()); err != nil {
				return s.unavailable(ctx, len(todo), r.lastErr)
			}
			// Send one event alone first: a stream that did not answer
			// (electing its leader, or too busy to acknowledge within
			// AckTimeout) is sent the rest again only once it answers,
			// instead of every Send resending its whole batch each
			// AckTimeout, which adds to its load.
			if len(todo) > 1 {
				s.retried.Add(1)
				again, err := r.send(ctx, todo[:1], len(todo)-1)
				if err != nil {
					return err
				}
				if len(again) > 0 {
					continue
				}
				todo = todo[1:]
			}
			s.retried.Add(int64(len(todo)))
		}
		var err error
		if todo, err = r.send(ctx, todo, 0); err != nil {
			return err
		}
	}
	refused, refusedErr := r.refused, r.refusedErr
	if len(refused) > 0 {
		s.lost.Add(int64(len(refused)))
		ee := &EventsError{IDs: refused, Err: refusedErr}
		s.opts.OnError(ee)
		return &audit.PartialError{Lost: len(refused), Err: ee}
	}
	return nil
}

// sendRound publishes events for a Send and collects the outcome.
type sendRound struct {
	s          *Sink
	refused    []uuid.UUID // for good
	refusedErr error
	lastErr    error // of a publish to send again
}

// send publishes todo and waits for the acknowledgements in order. It
// returns the events to send again, or an error when ctx ended, counting
// the events not acknowledged and more.
func (r *sendRound) send(ctx context.Context, todo []pending, more int) ([]pending, error) {
	s := r.s
	for i := range todo {
		p := &todo[i]
		p.fut, p.err = s.publish(ctx, p)
		if ctx.Err() != nil {
			return nil, s.unavailable(ctx, len(todo)+more, p.err)
		}
	}
	var again []pending
	for i := range todo {
		p := &todo[i]
		err := p.err
		if err == nil {
			select {
			case <-p.fut.Ok():
				s.published.Add(1)
				continue
			case err = <-p.fut.Err():
			case <-ctx.Done():
				return nil, s.unavailable(ctx, len(todo)-i+more, r.lastErr)
			}
		}
		if refusedForGood(err) {
			r.refused = append(r.refused, p.id)
			r.refusedErr = err
			continue
		}
		r.lastErr = err
		again = append(again, *p)
	}
	return again, nil
}

// publish sends p once, waiting for room among the pending
// acknowledgements while ctx lasts.
func (s *Sink) publish(ctx context.Context, p *pending) (jetstream.PubAckFuture, error) {
	for {
		msg := &nats.Msg{Subject: p.subj, Data: p.data, Header: nats.Header{jetstream.MsgIDHeader: []string{p.id.String()}}}
		wait := 200 * time.Millisecond
		if d, ok := ctx.Deadline(); ok {
			wait = max(min(wait, time.Until(d)), time.Millisecond)
		}
		f, err := s.js.PublishMsgAsync(msg, jetstream.WithStallWait(wait))
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || ctx.Err() != nil {
			return f, err
		}
	}
}

// refusedForGood reports whether a publish failed in a way sending it again
// cannot fix: the message is larger than the server or stream takes.
func refusedForGood(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeMessageTooLarge {
		return true
	}
	return errors.Is(err, nats.ErrMaxPayload)
}

// errCodeMessageTooLarge is JetStream's "message size exceeds maximum
// allowed" (JSStreamMessageExceedsMaximumErr).
const errCodeMessageTooLarge jetstream.ErrorCode = 10054

func (s *Sink) unavailable(ctx context.Context, n int, last error) error {
	err := fmt.Errorf("jetstream: %d events not acknowledged: %w: %w", n, audit.ErrUnavailable, context.Cause(ctx))
	if last != nil {
		err = fmt.Errorf("%w (last failure: %v)", err, last)
	}
	return err
}

func (s *Sink) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("jetstream: %w", audit.ErrClosed)
	}
	s.inflight.Add(1)
	return nil
}

// Close refuses new Sends, waits for those in flight until ctx ends, then
// cancels them, and closes the connection when the sink made it. A second
// Close returns nil.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	again := s.closed
	s.closed = true
	s.mu.Unlock()
	if again {
		return nil
	}
	err := waitGroup(ctx, &s.inflight, s.stop)
	s.stop()
	if s.owned {
		s.nc.Close()
	}
	return err
}

// waitGroup waits for wg until ctx ends; then it calls cancel and waits
// for the rest, returning ctx's error.
func waitGroup(ctx context.Context, wg *sync.WaitGroup, cancel func()) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		cancel()
		<-done
		return fmt.Errorf("jetstream: close: %w", ctx.Err())
	}
}

// mergeCancel returns a context of ctx that is also canceled when stop is.
func mergeCancel(ctx, stop context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	unhook := context.AfterFunc(stop, func() { cancel(fmt.Errorf("%w", audit.ErrClosed)) })
	return ctx, func() { unhook(); cancel(nil) }
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func defaultOnError(err error) {
	slog.Default().LogAttrs(context.Background(), slog.LevelError, "audit jetstream", slog.Any("error", err))
}

func jitter(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }
