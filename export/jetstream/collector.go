package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/auditkit/audit"
)

// CollectorOptions configures a [Collector]. Store, and URL or Conn, are
// required.
type CollectorOptions struct {
	// URL is the NATS server URL (or a comma-separated list); the collector
	// connects, reconnects forever, and closes the connection at Close.
	URL string
	// Conn is an existing connection to use instead of URL; the collector
	// does not close it.
	Conn *nats.Conn
	// Stream is the name of the stream to read. Default "AUDIT". It must
	// exist.
	Stream string
	// Consumer is the durable pull consumer's name, created when missing.
	// Collectors with the same Consumer share the work. Default
	// "audit-collector".
	Consumer string
	// FilterSubject restricts the consumer to some subjects
	// ("audit.error.>"). Default: the whole stream.
	FilterSubject string
	// Store receives the events. Its Write must be idempotent on the
	// event ID (every store of this module is).
	Store audit.Store
	// FetchSize is the most messages written at once: with a backlog,
	// every batch. Default 4096.
	FetchSize int
	// Writers is the number of batches the collector writes at once, each
	// in its own transaction: more keep a store whose commits take a while
	// busy. Default 4.
	Writers int
	// FetchWait is how long the collector waits for a first message
	// before it asks the server for the consumer's lag. Default 1s; the
	// collector waits at least 3s (three of the server's heartbeats), so
	// that a pull request lost with a node (see [Collector]) is noticed.
	FetchWait time.Duration
	// BatchWait is how long a batch waits for one more message before it
	// is written: a batch holds what arrives without a pause, up to
	// FetchSize. Default 5ms.
	BatchWait time.Duration
	// AckWait is the consumer's redelivery delay: a message fetched but
	// not acknowledged within it (its collector died) is delivered again.
	// Keep it above WriteTimeout. Default 30s.
	AckWait time.Duration
	// MaxAckPending bounds the messages fetched and not yet acknowledged,
	// over all collectors of the consumer. Default 50,000.
	MaxAckPending int
	// WriteTimeout bounds one attempt of Store.Write. A failed write is
	// retried, with backoff, until it succeeds or Run's context ends.
	// Default 10s.
	WriteTimeout time.Duration
	// OnError receives the errors Run does not return: failed fetches and
	// writes (retried) and poison messages (a [*PoisonError]). Default:
	// logged with slog.
	OnError func(error)
}

// PoisonError reports a message the collector terminated: it does not
// decode as an event, or the store refuses its event for good.
type PoisonError struct {
	Subject  string
	Sequence uint64 // the message's stream sequence
	Err      error
}

// Error implements error.
func (e *PoisonError) Error() string {
	return fmt.Sprintf("jetstream: poison message %d on %s terminated: %v", e.Sequence, e.Subject, e.Err)
}

// Unwrap returns the cause.
func (e *PoisonError) Unwrap() error { return e.Err }

// CollectorStats are a collector's counters since Run began.
type CollectorStats struct {
	// Fetched counts messages fetched (redeliveries included).
	Fetched int64
	// Written counts events in batches the store's Write returned nil for
	// (events already stored by a collector that died before acknowledging
	// count again).
	Written int64
	// Acked counts messages acknowledged.
	Acked int64
	// Redelivered counts fetched messages delivered before.
	Redelivered int64
	// Poison counts messages terminated as undecodable or refused.
	Poison int64
	// WriteErrors counts failed (and retried) writes.
	WriteErrors int64
	// Lag is the consumer's number of messages not yet delivered, as of
	// the last fetch.
	Lag uint64
	// Elapsed is the time since Run began.
	Elapsed time.Duration
	// Throughput is Written per second of Elapsed.
	Throughput float64
}

// Collector reads events from a durable JetStream pull consumer and writes
// them to a store, acknowledging each message only after the Write holding
// its event returned nil. A collector that dies mid-batch loses nothing (the
// unacknowledged messages are delivered again after AckWait) and duplicates
// nothing (Write is idempotent on the event ID).
//
// In a cluster, the consumer's leader holds the collector's pull requests.
// When it dies, or a request reaches the cluster while it elects a new one,
// the request is lost without a reply: the collector then misses two of
// the heartbeats the server sends every second for a waiting request, and
// sends a new request, which resumes the delivery within seconds of the new
// leader's election.
type Collector struct {
	opts  CollectorOptions
	nc    *nats.Conn
	owned bool
	cons  jetstream.Consumer

	mu      sync.Mutex
	infoMu  sync.Mutex // one Consumer.Info at a time: it updates the cached info
	running bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
	started time.Time

	fetched, written, acked, redelivered, poison, writeErrors atomic.Int64
	lag                                                       atomic.Uint64
}

// NewCollector connects (or uses Options.Conn) and creates, or binds to,
// the durable consumer. ctx bounds the setup.
func NewCollector(ctx context.Context, opts CollectorOptions) (*Collector, error) {
	if opts.Store == nil {
		return nil, fmt.Errorf("jetstream: %w: CollectorOptions.Store is nil", audit.ErrInvalidOptions)
	}
	setDefault(&opts.Stream, DefaultStream)
	setDefault(&opts.Consumer, DefaultConsumer)
	setDefault(&opts.FetchSize, DefaultFetchSize)
	setDefault(&opts.FetchWait, DefaultFetchWait)
	setDefault(&opts.BatchWait, DefaultBatchWait)
	setDefault(&opts.Writers, DefaultWriters)
	setDefault(&opts.AckWait, DefaultAckWait)
	setDefault(&opts.MaxAckPending, DefaultMaxAckPending)
	setDefault(&opts.WriteTimeout, DefaultWriteTimeout)
	if opts.OnError == nil {
		opts.OnError = defaultOnError
	}
	if opts.FetchSize < 0 || opts.Writers < 0 || opts.FetchWait < 0 || opts.BatchWait < 0 || opts.AckWait < 0 || opts.MaxAckPending < 0 || opts.WriteTimeout < 0 {
		return nil, fmt.Errorf("jetstream: %w: FetchSize, Writers, FetchWait, BatchWait, AckWait, MaxAckPending and WriteTimeout must not be negative", audit.ErrInvalidOptions)
	}
	nc, owned, err := connect(opts.Conn, opts.URL, "audit collector "+opts.Consumer, DefaultConnectWait)
	if err != nil {
		return nil, err
	}
	c := &Collector{opts: opts, nc: nc, owned: owned, done: make(chan struct{})}
	if err := retry(ctx, c.bind); err != nil {
		if owned {
			nc.Close()
		}
		return nil, err
	}
	return c, nil
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

func (c *Collector) bind(ctx context.Context) error {
	js, err := jetstream.New(c.nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if _, err := js.Stream(ctx, c.opts.Stream); err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("jetstream: %w: stream %s does not exist", audit.ErrInvalidOptions, c.opts.Stream)
		}
		return fmt.Errorf("jetstream: stream %s: %w", c.opts.Stream, err)
	}
	c.cons, err = js.CreateOrUpdateConsumer(ctx, c.opts.Stream, jetstream.ConsumerConfig{
		Durable:       c.opts.Consumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       c.opts.AckWait,
		MaxAckPending: c.opts.MaxAckPending,
		FilterSubject: c.opts.FilterSubject,
		MaxWaiting:    512,
	})
	if err != nil {
		return fmt.Errorf("jetstream: consumer %s of %s: %w", c.opts.Consumer, c.opts.Stream, err)
	}
	return nil
}

// Stats returns the collector's counters.
func (c *Collector) Stats() CollectorStats {
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	s := CollectorStats{
		Fetched: c.fetched.Load(), Written: c.written.Load(), Acked: c.acked.Load(),
		Redelivered: c.redelivered.Load(), Poison: c.poison.Load(), WriteErrors: c.writeErrors.Load(),
		Lag: c.lag.Load(),
	}
	if !started.IsZero() {
		s.Elapsed = time.Since(started)
		s.Throughput = float64(s.Written) / s.Elapsed.Seconds()
	}
	return s
}

// Run fetches, writes and acknowledges until ctx ends or Close is called,
// then returns nil. A fetch or write that fails is reported to OnError and
// retried. Run may be called once.
func (c *Collector) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.closed || c.running {
		c.mu.Unlock()
		return fmt.Errorf("jetstream: collector: %w (Run is called once, before Close)", audit.ErrClosed)
	}
	c.running = true
	c.started = time.Now()
	ctx, c.cancel = context.WithCancel(ctx)
	c.mu.Unlock()
	defer close(c.done)
	defer c.cancel()
	backoff := newBackoff()
	for ctx.Err() == nil {
		// The iterator keeps up to pullAhead batches pulled ahead, so the
		// next batch is at hand as soon as one is taken, and none waits
		// long enough in the buffer for its AckWait to run out.
		it, err := c.cons.Messages(jetstream.PullMaxMessages(pullAhead*c.opts.FetchSize),
			jetstream.PullExpiry(pullExpiry), jetstream.PullHeartbeat(pullHeartbeat))
		if err != nil {
			c.opts.OnError(fmt.Errorf("jetstream: pull from consumer %s: %w", c.opts.Consumer, err))
			sleep(ctx, backoff.next())
			continue
		}
		backoff.reset()
		// One goroutine (this one) fetches, the writers write: batch N+1
		// is fetched while batch N is written. A batch waits for a free
		// writer in a channel of one.
		batches := make(chan []jetstream.Msg, 1)
		var wg sync.WaitGroup
		for range max(c.opts.Writers, 1) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for batch := range batches {
					c.handle(ctx, batch)
				}
			}()
		}
		c.fetchAll(ctx, it, batches)
		close(batches)
		wg.Wait()
		// ctx ended, or the iterator closed. Hand back what was pulled and
		// not handled, rather than let it wait for AckWait.
		it.Drain()
		for {
			m, err := it.Next(jetstream.NextMaxWait(10 * time.Millisecond))
			if err != nil {
				break
			}
			m.Nak()
		}
		it.Stop()
	}
	return nil
}

// pullAhead is the number of batches of FetchSize the pull iterator asks
// the server for ahead of the batch being fetched.
const pullAhead = 2

// fetchAll fetches batches from it into batches until ctx ends or it
// closes.
func (c *Collector) fetchAll(ctx context.Context, it jetstream.MessagesContext, batches chan<- []jetstream.Msg) {
	backoff := newBackoff()
	for ctx.Err() == nil {
		batch, err := c.fetch(ctx, it)
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			if ctx.Err() == nil {
				c.opts.OnError(err)
			}
			return
		}
		if err != nil && ctx.Err() == nil {
			c.opts.OnError(err)
			sleep(ctx, backoff.next())
			continue
		}
		backoff.reset()
		if len(batch) == 0 {
			if ctx.Err() == nil {
				c.refreshLag(ctx)
			}
			continue
		}
		select {
		case batches <- batch:
		case <-ctx.Done():
			// Handed back at once rather than after AckWait.
			for _, m := range batch {
				m.Nak()
			}
		}
	}
}

// Pull requests expire after pullExpiry, and the server sends a heartbeat
// every pullHeartbeat while one waits. The iterator notices missed
// heartbeats only while a Next call lasts more than two of them: Next
// returns [jetstream.ErrNoHeartbeat], and the following Next sends a new
// request. Without it a request lost with a dying consumer leader, or sent
// while the cluster had none, would leave the iterator waiting forever for
// the messages it believes requested (the server holding no request).
const (
	pullExpiry    = 5 * time.Second
	pullHeartbeat = time.Second
	minFetchWait  = 3 * pullHeartbeat
)

// fetch takes one batch from it: the first message waits up to FetchWait
// (at least minFetchWait), the next ones up to BatchWait each, up to
// FetchSize. With a backlog, a batch is FetchSize messages.
func (c *Collector) fetch(ctx context.Context, it jetstream.MessagesContext) ([]jetstream.Msg, error) {
	wctx, cancel := context.WithTimeout(ctx, max(c.opts.FetchWait, minFetchWait))
	first, err := it.Next(jetstream.NextContext(wctx))
	cancel()
	switch {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, nats.ErrTimeout):
		return nil, nil
	case errors.Is(err, jetstream.ErrNoHeartbeat):
		// The next Next sends a new pull request.
		c.opts.OnError(fmt.Errorf("jetstream: pull from consumer %s: %w; pulling again", c.opts.Consumer, err))
		return nil, nil
	default:
		return nil, fmt.Errorf("jetstream: pull: %w", err)
	}
	batch := []jetstream.Msg{first}
	for len(batch) < c.opts.FetchSize {
		m, err := it.Next(jetstream.NextMaxWait(c.opts.BatchWait))
		if err != nil {
			break
		}
		batch = append(batch, m)
	}
	return batch, nil
}

// handle writes the events of batch and acknowledges each message after
// the commit of its event (without waiting for the server's reply), or
// terminates it as poison. When ctx ends before the write, the messages
// are handed back.
func (c *Collector) handle(ctx context.Context, batch []jetstream.Msg) {
	var msgs []jetstream.Msg
	var ids []uuid.UUID // of msgs
	var events []audit.Event
	seen := make(map[uuid.UUID]bool)
	for _, msg := range batch {
		c.fetched.Add(1)
		md, merr := msg.Metadata()
		if merr == nil {
			c.lag.Store(md.NumPending)
			if md.NumDelivered > 1 {
				c.redelivered.Add(1)
			}
		}
		var e audit.Event
		if err := e.UnmarshalJSON(msg.Data()); err != nil {
			c.terminate(msg, md, err)
			continue
		}
		msgs = append(msgs, msg)
		ids = append(ids, e.ID)
		if !seen[e.ID] { // a copy published after the duplicate window
			seen[e.ID] = true
			events = append(events, e)
		}
	}
	if len(msgs) == 0 {
		return
	}
	refused, err := c.write(ctx, events)
	if err != nil {
		// ctx ended: hand the messages back at once rather than after AckWait.
		for _, m := range msgs {
			m.Nak()
		}
		return
	}
	for i, m := range msgs {
		if rerr, ok := refused[ids[i]]; ok {
			md, _ := m.Metadata()
			c.terminate(m, md, rerr)
			continue
		}
		if m.Ack() == nil {
			c.acked.Add(1)
		}
	}
}

// write writes events, retrying until the store takes them or ctx ends.
// When the store refuses the batch for good, the events are written one
// by one and those it refuses are returned, by ID, to be terminated.
func (c *Collector) write(ctx context.Context, events []audit.Event) (map[uuid.UUID]error, error) {
	err := c.writeRetry(ctx, events)
	if err == nil || !audit.IsPermanent(err) {
		return nil, err
	}
	refused := make(map[uuid.UUID]error)
	for i := range events {
		if err := c.writeRetry(ctx, events[i:i+1]); err != nil {
			if !audit.IsPermanent(err) {
				return nil, err
			}
			refused[events[i].ID] = err
		}
	}
	return refused, nil
}

func (c *Collector) writeRetry(ctx context.Context, events []audit.Event) error {
	backoff := newBackoff()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// A write under way is not cut short when ctx ends: it finishes
		// within WriteTimeout and its messages are acknowledged.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.WriteTimeout)
		err := c.opts.Store.Write(wctx, events)
		cancel()
		if err == nil {
			c.written.Add(int64(len(events)))
			return nil
		}
		if audit.IsPermanent(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.writeErrors.Add(1)
		c.opts.OnError(fmt.Errorf("jetstream: write %d events (retrying): %w", len(events), err))
		if err := sleep(ctx, backoff.next()); err != nil {
			return err
		}
	}
}

func (c *Collector) terminate(msg jetstream.Msg, md *jetstream.MsgMetadata, cause error) {
	c.poison.Add(1)
	pe := &PoisonError{Subject: msg.Subject(), Err: cause}
	if md != nil {
		pe.Sequence = md.Sequence.Stream
	}
	msg.TermWithReason("audit: poison")
	c.opts.OnError(pe)
}

// refreshLag asks the server for the consumer's pending count, unless
// another writer is asking.
func (c *Collector) refreshLag(ctx context.Context) {
	if !c.infoMu.TryLock() {
		return
	}
	defer c.infoMu.Unlock()
	ictx, cancel := context.WithTimeout(ctx, c.opts.FetchWait)
	defer cancel()
	if info, err := c.cons.Info(ictx); err == nil {
		c.lag.Store(info.NumPending)
	}
}

// Close stops Run (waiting for it until ctx ends: a batch being written
// is finished or handed back), and closes the connection when the
// collector made it. A second Close returns nil.
func (c *Collector) Close(ctx context.Context) error {
	c.mu.Lock()
	again, running, cancel := c.closed, c.running, c.cancel
	c.closed = true
	c.mu.Unlock()
	if again {
		return nil
	}
	var err error
	if running {
		cancel()
		select {
		case <-c.done:
		case <-ctx.Done():
			err = fmt.Errorf("jetstream: close: %w", ctx.Err())
			<-c.done // Run's steps are bounded by FetchWait and WriteTimeout
		}
	}
	if c.owned {
		c.nc.Close()
	}
	return err
}

// backoff doubles from 10ms to 2s, with jitter.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{d: 10 * time.Millisecond} }

func (b *backoff) next() time.Duration {
	d := jitter(b.d)
	b.d = min(2*b.d, 2*time.Second)
	return d
}

func (b *backoff) reset() { b.d = 10 * time.Millisecond }
