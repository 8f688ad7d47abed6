package audit

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Overflow is what [Logger] does when its queue is full.
type Overflow uint8

const (
	// OverflowBlock makes the logging call wait for room while the
	// destination makes progress, and drop the event with [ErrQueueFull]
	// once Options.BlockTimeout has passed without a batch delivered (or
	// its context ends). It is the default.
	OverflowBlock Overflow = iota
	// OverflowDrop drops the event at once with [ErrQueueFull].
	OverflowDrop
)

// Options configure a [Logger]. The zero value is usable: it logs every event
// to no store, asynchronously, with the defaults below.
type Options struct {
	// Store receives every event whose route includes RouteStore. Nil means
	// events are only exported to Sinks.
	Store Store
	// Sinks receive every event whose route includes RouteExport, each
	// through its own queue.
	Sinks []Sink
	// Policy decides what is logged for whom. Default: [LogAll].
	Policy Policy

	// Params are static params added to every event. A param given in the logging call wins over a static
	// one of the same key.
	Params map[string]any
	// Callback runs on every event before it is queued and may read and
	// change it, e.g. to add persistent params with [Event.Set]. A panic in it is recovered and reported; the event is
	// still logged.
	Callback Callback

	// Sync makes each logging call write its event to the Store before
	// returning, and return the store's error. Sinks still receive events
	// asynchronously. Default false: calls return once the event is queued.
	Sync bool
	// QueueSize bounds the events waiting for the store. Default 8192.
	QueueSize int
	// Overflow is the policy when the queue is full. Default OverflowBlock.
	Overflow Overflow
	// BlockTimeout is how long OverflowBlock waits for room without
	// progress. Default 500ms.
	//
	// The rule: a logging call that finds the queue full waits in line,
	// and gives up when BlockTimeout passes with no batch delivered to
	// that destination; each delivered batch frees room and starts the
	// wait over. So a healthy store that is merely slower than a burst
	// makes callers wait as long as it takes to drain (bounded by their
	// context's deadline, if any), and loses nothing, while a store that
	// is down or hung (no batch completes) makes every call that finds
	// the queue full fail after BlockTimeout. A write under way counts as
	// progress for up to four times BlockTimeout from its start, so a
	// healthy store whose commit stalls for a while (a loaded machine)
	// keeps its callers, while one that hangs mid-write loses them after
	// that long; a store that is down fails its writes at once and gets
	// BlockTimeout alone. Pick it below the latency a
	// request can afford to add on the store's worst day (a few hundred
	// milliseconds for an interactive service, longer for batch jobs that
	// prefer waiting to losing), and size QueueSize to absorb the bursts
	// you expect. The wait of one logging call is shared by the store and
	// the sinks. With a spool, the same rule applies to room in the
	// spool: freed segments are progress. Callers waiting for room are
	// admitted in the order they came.
	BlockTimeout time.Duration
	// BatchSize is the number of waiting events that triggers a write
	// without waiting for FlushInterval. Default 512.
	BatchSize int
	// MaxBatchSize bounds a batch. When a backlog builds (the store is
	// slower than the logging rate for a while), the events that queued
	// while a batch was written go out together in the next one, up to
	// MaxBatchSize, so fewer, larger transactions bring throughput close to
	// what the store can commit; at low load a batch holds what came within
	// FlushInterval. A batch holds its room in the queue until it is
	// written, so batches are also kept to what the destination has been
	// writing within a quarter of BlockTimeout (a healthy but slow store
	// gets smaller batches, so callers waiting for room are not held
	// longer), and never exceed half of QueueSize. Default 4096 (or half of
	// QueueSize);
	// never below BatchSize. A store or sink implementing [BatchSizer] gets
	// batches of at most its own size instead.
	MaxBatchSize int
	// FlushInterval is how long an event may wait for its batch to fill.
	// Default 100ms.
	FlushInterval time.Duration
	// WriteTimeout bounds one attempt to write a batch. Default 10s.
	WriteTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between attempts to write a
	// batch that failed; it doubles from RetryMin, with jitter. Defaults 50ms
	// and 5s.
	RetryMin, RetryMax time.Duration
	// MaxAttempts is how many times a batch is tried before it is given up
	// and counted as failed. Default 0: retry until Close's deadline. Errors
	// marked [Permanent] are not retried; the batch is split to isolate the
	// events the store refuses, and the others are written.
	MaxAttempts int

	// Printer, when set, receives every event whose route includes
	// RoutePrint (settings' print levels), written at once in the logging
	// goroutine so operators see it in the service's own log. Levels map to
	// slog's: debug to Debug, info, audit and usage to Info, warning to Warn,
	// error to Error. Default nil: nothing is printed.
	Printer *slog.Logger

	// SinkQueueSize bounds each sink's queue. A full sink queue follows
	// Overflow like the store's (waiting up to BlockTimeout, shared with the
	// store's wait in the same call, then dropping the event for that sink
	// only); the logging call still returns nil when the store took the
	// event. Default QueueSize.
	SinkQueueSize int
	// DropReportInterval is how often drops are reported to ErrorHandler: a
	// destination's first drop is reported at once as a [DropReport], later
	// ones are counted and reported together at most once per interval, and
	// the rest at Close. Default 10s.
	DropReportInterval time.Duration

	// MaxMessageBytes truncates longer messages and stack traces, at a UTF-8
	// boundary with a visible "…[truncated N bytes]" marker. Default 256 KiB;
	// negative means no limit.
	MaxMessageBytes int
	// MaxValueBytes truncates longer string and JSON param values (JSON that is
	// truncated becomes a string). Default 64 KiB; negative means no limit.
	MaxValueBytes int

	// ErrorHandler receives every error the pipeline does not return to a
	// caller: drops, retried and failed writes, callback panics. It must not
	// block for long. Default: logged to slog.Default() at level ERROR.
	ErrorHandler func(error)
	// Now returns the current time. Default time.Now. Tests inject a clock.
	Now func() time.Time

	// Spool, when set, makes every accepted event durable on disk before
	// the logging call returns; the store and sinks then read from the
	// spool. See [SpoolOptions]. With a spool, a logging call returns an
	// error wrapping [ErrSpool] when its event cannot be made durable (fail
	// closed). Not with Sync. Default nil: events wait in memory.
	Spool *SpoolOptions

	// Redact says which param values are replaced before the printer,
	// spool, store and sinks see the event. The zero value redacts keys
	// such as password, secret, token, authorization, api_key and cookie
	// with [RedactedMarker]; Redact{Off: true} turns key matching off. See
	// [Redact].
	Redact Redact

	// CloseStore and CloseSinks make [Logger.Close] also close the store and
	// sinks that implement [Closer].
	CloseStore, CloseSinks bool
}

func (o Options) withDefaults() Options {
	if o.Policy == nil {
		o.Policy = LogAll
	}
	if o.QueueSize == 0 {
		o.QueueSize = 8192
	}
	if o.BlockTimeout == 0 {
		o.BlockTimeout = 500 * time.Millisecond
	}
	if o.BatchSize == 0 {
		o.BatchSize = 512
	}
	if o.MaxBatchSize == 0 {
		o.MaxBatchSize = max(min(4096, o.QueueSize/2), o.BatchSize)
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = 100 * time.Millisecond
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.RetryMin == 0 {
		o.RetryMin = 50 * time.Millisecond
	}
	if o.RetryMax == 0 {
		o.RetryMax = 5 * time.Second
	}
	if o.SinkQueueSize == 0 {
		o.SinkQueueSize = o.QueueSize
	}
	if o.DropReportInterval == 0 {
		o.DropReportInterval = 10 * time.Second
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = 256 << 10
	}
	if o.MaxValueBytes == 0 {
		o.MaxValueBytes = 64 << 10
	}
	if o.ErrorHandler == nil {
		o.ErrorHandler = func(err error) {
			slog.Default().LogAttrs(context.Background(), slog.LevelError, "audit", slog.Any("error", err))
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o Options) validate() error {
	positive := []struct {
		name string
		v    int64
	}{
		{"QueueSize", int64(o.QueueSize)},
		{"BlockTimeout", int64(o.BlockTimeout)},
		{"BatchSize", int64(o.BatchSize)},
		{"MaxBatchSize", int64(o.MaxBatchSize)},
		{"FlushInterval", int64(o.FlushInterval)},
		{"WriteTimeout", int64(o.WriteTimeout)},
		{"RetryMin", int64(o.RetryMin)},
		{"RetryMax", int64(o.RetryMax)},
		{"SinkQueueSize", int64(o.SinkQueueSize)},
		{"DropReportInterval", int64(o.DropReportInterval)},
	}
	for _, f := range positive {
		if f.v <= 0 {
			return fmt.Errorf("%w: %s must be positive, got %d", ErrInvalidOptions, f.name, f.v)
		}
	}
	if o.MaxBatchSize < o.BatchSize {
		return fmt.Errorf("%w: MaxBatchSize (%d) is below BatchSize (%d)", ErrInvalidOptions, o.MaxBatchSize, o.BatchSize)
	}
	if o.RetryMax < o.RetryMin {
		return fmt.Errorf("%w: RetryMax (%s) is below RetryMin (%s)", ErrInvalidOptions, o.RetryMax, o.RetryMin)
	}
	if o.MaxAttempts < 0 {
		return fmt.Errorf("%w: MaxAttempts must not be negative, got %d", ErrInvalidOptions, o.MaxAttempts)
	}
	if o.Overflow > OverflowDrop {
		return fmt.Errorf("%w: Overflow: unknown policy %d", ErrInvalidOptions, o.Overflow)
	}
	if o.Spool != nil && o.Sync {
		return fmt.Errorf("%w: Spool and Sync exclude each other", ErrInvalidOptions)
	}
	if o.Spool != nil && o.Spool.Sync > SpoolSyncNever {
		return fmt.Errorf("%w: Spool.Sync: unknown policy %d", ErrInvalidOptions, o.Spool.Sync)
	}
	for i, s := range o.Sinks {
		if s == nil {
			return fmt.Errorf("%w: Sinks[%d] is nil", ErrInvalidOptions, i)
		}
	}
	return o.Redact.validate()
}
