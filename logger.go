package audit

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditkit/audit/internal/callstack"
	"github.com/auditkit/audit/internal/spool"
)

// Logger records events: Log, Audit, Usage, Info, Debug, Warning and Error,
// static params and callbacks, and child loggers that add params, a
// callback or attribution on top of their parent's. All methods are safe
// for concurrent use.
//
// Every convenience method is a thin layer over [Logger.LogEvent]. Each
// returns nil once the event is queued (or, with Options.Sync, committed),
// and an error wrapping [ErrQueueFull] or [ErrClosed] when it was dropped.
// An event the policy does not log returns nil.
type Logger struct {
	c         *core
	subject   Subject
	binding   Binding
	params    []Param // static params, sorted by key, keys unique
	callbacks []Callback
}

// core is what a Logger and all its children share.
type core struct {
	opts     Options
	redact   atomic.Pointer[redactor] // the rule in force; see SetRedact
	ids      idGen
	store    *pipe // nil when there is no store
	sinks    []*pipe
	pipes    []*pipe // store (if any) then sinks, each with a goroutine unless Sync
	inflight atomic.Int64
	closed   atomic.Bool
	closing  chan struct{}
	cancel   context.CancelFunc // hard stop: Close's deadline passed
	spool    *spool.Spool       // nil without Options.Spool
	// spoolRefs counts the users of the spool: the pipes, and Close.
	spoolRefs atomic.Int32
	refused   atomic.Uint64
	dropped   atomic.Uint64 // store drops
	once      sync.Once
	closeErr  error
}

// New returns a Logger and starts its delivery goroutines; stop them with
// [Logger.Close]. It fails with [ErrInvalidOptions] when an option is invalid.
func New(opts Options) (*Logger, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c := &core{opts: opts, closing: make(chan struct{})}
	c.redact.Store(newRedactor(opts.Redact))
	base, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if opts.Store != nil {
		c.store = newPipe("store", opts.Store, opts.Store.Write, opts.QueueSize, &c.opts, base)
		if !opts.Sync {
			c.pipes = append(c.pipes, c.store)
		}
	}
	for i, s := range opts.Sinks {
		name := fmt.Sprintf("sink %d (%s)", i, reflect.TypeOf(s))
		if n, ok := s.(Namer); ok {
			name = n.Name()
		}
		p := newPipe(name, s, s.Send, opts.SinkQueueSize, &c.opts, base)
		c.sinks = append(c.sinks, p)
		c.pipes = append(c.pipes, p)
	}
	if opts.Spool != nil && len(c.pipes) > 0 {
		if err := c.openSpool(); err != nil {
			cancel()
			return nil, err
		}
	}
	for _, p := range c.pipes {
		switch {
		case p.reader == nil:
			go p.run()
		case p == c.store:
			go p.runSpool(RouteStore)
		default:
			go p.runSpool(RouteExport)
		}
	}
	l := &Logger{c: c}
	if len(opts.Params) > 0 {
		a, _ := scanArgs([]any{opts.Params}, false)
		l.params = sortUnique(l.gather(nil, &a, nil))
	}
	if opts.Callback != nil {
		l.callbacks = []Callback{opts.Callback}
	}
	l.binding = opts.Policy.Bind(l.subject)
	return l, nil
}

// child returns a copy of l sharing its core, with fresh slices.
func (l *Logger) child() *Logger {
	n := *l
	n.params = l.params[:len(l.params):len(l.params)]
	n.callbacks = l.callbacks[:len(l.callbacks):len(l.callbacks)]
	return &n
}

// With returns a child logger that adds params to every event, on top of
// (and overriding keys of) its parent's static params. args are read as the
// logging methods read theirs, except that a string is a stray argument.
func (l *Logger) With(args ...any) *Logger {
	n := l.child()
	a, _ := scanArgs(args, false)
	n.params = sortUnique(l.gather(nil, &a, nil)) // the call's keys win
	return n
}

// Callback completes an event before it is queued: it may read and change
// it, typically adding params with [Event.Set]. ctx is the context of the
// logging call (that of LogEvent or a Context form, or context.Background
// for the methods without one), so a callback can attach what the context
// carries: trace ids, request ids, tenants, client IPs.
type Callback func(ctx context.Context, e *Event)

// WithCallback returns a child logger that runs fn on every event after its
// parent's callbacks (the JS putCallback of a child logger).
func (l *Logger) WithCallback(fn Callback) *Logger {
	if fn == nil {
		return l
	}
	n := l.child()
	n.callbacks = append(n.callbacks, fn)
	return n
}

// WithSubject returns a child logger whose events are attributed to s, and
// which the policy decides for as s.
func (l *Logger) WithSubject(s Subject) *Logger {
	n := l.child()
	n.subject = s
	n.subject.Groups = append([]string(nil), s.Groups...)
	n.binding = l.c.opts.Policy.Bind(n.subject)
	return n
}

// WithUser returns a child logger bound to a user and the groups the user
// belongs to; the session and package are kept.
func (l *Logger) WithUser(userID string, groups ...string) *Logger {
	s := l.subject
	s.UserID, s.Groups = userID, groups
	return l.WithSubject(s)
}

// WithSession returns a child logger bound to a session; the user is kept.
func (l *Logger) WithSession(sessionID string) *Logger {
	s := l.subject
	s.SessionID = sessionID
	return l.WithSubject(s)
}

// WithPackage returns a child logger for a component: its events carry the
// param "package", and settings can scope rules to it.
func (l *Logger) WithPackage(name string) *Logger {
	s := l.subject
	s.Package = name
	n := l.WithSubject(s)
	n.params = sortUnique(n.gather(nil, nil, []Param{{Key: "package", Value: StringValue(name)}}))
	return n
}

// Enabled reports whether an event of this level and type would be logged
// (anywhere) for the subject of l, or of ctx when it carries one (see
// [WithSubject]). Adapters use it to skip building events that the policy
// drops.
func (l *Logger) Enabled(ctx context.Context, level Level, typ string) bool {
	return l.For(ctx).binding.Route(level, typ) != 0
}

// Now returns the current time by the Logger's clock (Options.Now), so code
// that times operations for its events agrees with the Logger.
func (l *Logger) Now() time.Time { return l.c.opts.Now() }

// Subject returns the subject the logger attributes events to.
func (l *Logger) Subject() Subject { return l.subject }

// Log records an audit-level event, of type "log" unless a record type is
// given (the same as Audit).
//
// Log and the other logging methods take, after the message, any mix of
// arguments:
//   - a [Param] (built with [String], [Int], [Object], [Any] ...) or a
//     []Param is params;
//   - a map[string]any is params, each value converted with [AnyValue];
//   - the first string is the record type (for Error: the stack trace);
//   - nil is ignored;
//   - anything else, and a second string, is kept as a param named
//     [BadArgKey] plus its position, so a mistaken argument is visible
//     rather than lost.
//
// Params of later arguments win over earlier ones with the same key, and
// all of them over the logger's static params. The arguments do not escape:
// typed params cost no allocation. Each method has a Context form whose ctx
// attributes the event ([Logger.For]), is passed to the callbacks, and
// bounds waiting for queue room (and in Sync mode the write).
func (l *Logger) Log(msg string, args ...any) error {
	return l.emit(nil, LevelAudit, TypeLog, msg, args)
}

// LogContext is [Logger.Log] in ctx.
func (l *Logger) LogContext(ctx context.Context, msg string, args ...any) error {
	return l.emit(ctx, LevelAudit, TypeLog, msg, args)
}

// Audit records an audit-level event of the given type, "log" by default.
func (l *Logger) Audit(msg string, args ...any) error {
	return l.emit(nil, LevelAudit, TypeLog, msg, args)
}

// AuditContext is [Logger.Audit] in ctx.
func (l *Logger) AuditContext(ctx context.Context, msg string, args ...any) error {
	return l.emit(ctx, LevelAudit, TypeLog, msg, args)
}

// Usage records a usage-level event of the given type, "usage" by default.
func (l *Logger) Usage(msg string, args ...any) error {
	return l.emit(nil, LevelUsage, TypeUsage, msg, args)
}

// UsageContext is [Logger.Usage] in ctx.
func (l *Logger) UsageContext(ctx context.Context, msg string, args ...any) error {
	return l.emit(ctx, LevelUsage, TypeUsage, msg, args)
}

// Info records an info-level event, with no record type unless given.
func (l *Logger) Info(msg string, args ...any) error {
	return l.emit(nil, LevelInfo, "", msg, args)
}

// InfoContext is [Logger.Info] in ctx.
func (l *Logger) InfoContext(ctx context.Context, msg string, args ...any) error {
	return l.emit(ctx, LevelInfo, "", msg, args)
}

// Debug records a debug-level event.
func (l *Logger) Debug(msg string, args ...any) error {
	return l.emit(nil, LevelDebug, "", msg, args)
}

// DebugContext is [Logger.Debug] in ctx.
func (l *Logger) DebugContext(ctx context.Context, msg string, args ...any) error {
	return l.emit(ctx, LevelDebug, "", msg, args)
}

// Warning records a warning-level event.
func (l *Logger) Warning(msg string, args ...any) error {
	return l.emit(nil, LevelWarning, "", msg, args)
}

// WarningContext is [Logger.Warning] in ctx.
func (l *Logger) WarningContext(ctx context.Context, msg string, args ...any) error {
	return l.emit(ctx, LevelWarning, "", msg, args)
}

// Error records an error event of type "error". msg is the error: a string,
// an error value, or any other value (formatted with %v). For an error
// value, the params [ErrorTypeParam] and [ErrorChainParam] describe it. The
// stack trace, which groups errors by [Fingerprint], is the string argument
// when given, else the stack the error carries, else the caller's, captured
// now. Other arguments are read as [Logger.Log] reads them.
func (l *Logger) Error(msg any, args ...any) error {
	return l.errorEvent(nil, msg, args)
}

// ErrorContext is [Logger.Error] in ctx.
func (l *Logger) ErrorContext(ctx context.Context, msg any, args ...any) error {
	return l.errorEvent(ctx, msg, args)
}

func (l *Logger) errorEvent(ctx context.Context, msg any, list []any) error {
	l = l.For(ctx)
	route := l.binding.Route(LevelError, TypeError)
	if route == 0 {
		return nil
	}
	a, stack := scanArgs(list, true)
	text, errParams, carried := describeError(msg)
	switch {
	case stack != "":
	case carried != "":
		stack = carried
	default:
		stack = callstack.Capture(2)
	}
	e := Event{Level: LevelError, Type: TypeError, Message: text, StackTrace: stack}
	// The error's own params come first, so the call's win.
	return l.emitEvent(ctx, route, &e, &a, errParams)
}

// LogEvent records a whole event; every other logging method is a layer
// over it. Missing fields are filled in: ID (a new UUIDv7), Time (now; a
// given time is converted to UTC and truncated to microseconds), Type (per
// level, as the convenience methods do), SessionID and UserID (from ctx, see
// [WithSubject], else from the logger), Fingerprint (from StackTrace). The
// logger's static params and callbacks apply; e.Params is copied. ctx bounds
// waiting for queue room, and in Sync mode the write: to record the end of a
// request whose context may already be cancelled, pass
// [context.WithoutCancel] of it. An invalid Level is an error wrapping
// [ErrInvalidLevel].
func (l *Logger) LogEvent(ctx context.Context, e Event) error {
	if !e.Level.Valid() {
		return fmt.Errorf("%w: %d", ErrInvalidLevel, e.Level)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	l = l.For(ctx)
	if e.Type == "" {
		switch e.Level {
		case LevelAudit:
			e.Type = TypeLog
		case LevelUsage:
			e.Type = TypeUsage
		case LevelError:
			e.Type = TypeError
		}
	}
	route := l.binding.Route(e.Level, e.Type)
	if route == 0 {
		return nil
	}
	given := e.Params
	e.Params = nil
	return l.emitEvent(ctx, route, &e, nil, given)
}

// emit builds the event of a convenience method; typ is the level's default
// record type. ctx may be nil.
func (l *Logger) emit(ctx context.Context, level Level, typ, msg string, list []any) error {
	l = l.For(ctx)
	a, str := scanArgs(list, true)
	if str != "" {
		typ = str
	}
	route := l.binding.Route(level, typ)
	if route == 0 {
		return nil
	}
	e := Event{Level: level, Type: typ, Message: msg}
	return l.emitEvent(ctx, route, &e, &a, nil)
}

// emitEvent completes e and hands it to the pipes. e does not escape: the
// callbacks and the printer, which could keep it, get a copy.
func (l *Logger) emitEvent(ctx context.Context, route Route, e *Event, a *args, given []Param) error {
	c := l.c
	c.inflight.Add(1)
	defer c.inflight.Add(-1)
	if c.closed.Load() {
		c.refused.Add(1)
		return ErrClosed
	}

	if e.Time.IsZero() {
		e.Time = c.opts.Now()
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if e.ID == ([16]byte{}) {
		e.ID = c.ids.next(e.Time)
	}
	if e.UserID == "" {
		e.UserID = l.subject.UserID
	}
	if e.SessionID == "" {
		e.SessionID = l.subject.SessionID
	}
	e.Message = Truncate(e.Message, c.opts.MaxMessageBytes)
	if e.StackTrace != "" {
		e.StackTrace = Truncate(e.StackTrace, c.opts.MaxMessageBytes)
		if e.Fingerprint == "" {
			e.Fingerprint = Fingerprint(e.StackTrace)
		}
	}
	e.Params = l.buildParams(a, given)
	if len(l.callbacks) > 0 {
		h := new(Event)
		*h = *e
		cctx := ctx
		if cctx == nil {
			cctx = context.Background()
		}
		for _, cb := range l.callbacks {
			l.runCallback(cctx, cb, h)
		}
		*e = *h
	}
	c.redact.Load().params(e.Params)
	if route&RoutePrint != 0 && c.opts.Printer != nil {
		h := *e
		printEvent(ctx, c.opts.Printer, &h)
	}
	// One wait for room bounds the whole call, store and sinks together.
	var deadline time.Time
	wait := time.Duration(0)
	if c.opts.Overflow == OverflowBlock {
		wait = c.opts.BlockTimeout
	}
	if c.spool != nil {
		return c.spoolRouted(ctx, route, e, wait, &deadline)
	}
	if route&RouteExport != 0 {
		for _, p := range c.sinks {
			if err := p.put(ctx, item{ev: *e}, wait, &deadline, c.closing); err != nil {
				if errors.Is(err, ErrClosed) {
					c.refused.Add(1)
					return err
				}
				p.dropped.Add(1)
				p.drops.add(err)
			}
		}
	}
	if route&RouteStore == 0 || c.store == nil {
		return nil
	}
	if c.opts.Sync {
		if ctx == nil {
			ctx = context.Background()
		}
		return c.store.writeSync(ctx, *e)
	}
	if err := c.store.put(ctx, item{ev: *e}, wait, &deadline, c.closing); err != nil {
		if errors.Is(err, ErrClosed) {
			c.refused.Add(1)
			return err
		}
		c.dropped.Add(1)
		c.store.drops.add(err)
		return fmt.Errorf("audit: dropped event %s (type %q): %w", e.ID, e.Type, err)
	}
	return nil
}

// buildParams returns the event's params: the logger's static params, then
// given, then the call's arguments (later keys win), sorted, each value
// converted and size-limited. It allocates one slice. Up to stackParams
// params are gathered and sorted in a stack buffer first, so the sort's
// moves need no GC write barriers. a may be nil.
func (l *Logger) buildParams(a *args, given []Param) []Param {
	n := len(l.params) + len(given)
	if a != nil {
		n += a.n
	}
	switch {
	case n == 0:
		return nil
	case n <= 8:
		var buf [8]Param // a smaller frame to clear for the usual few params
		return l.sortedCopy(l.gather(buf[:0], a, given))
	case n <= stackParams:
		return l.paramsOnStack(a, given)
	}
	return sortUnique(l.gather(make([]Param, 0, n), a, given))
}

func (l *Logger) paramsOnStack(a *args, given []Param) []Param {
	var buf [stackParams]Param
	return l.sortedCopy(l.gather(buf[:0], a, given))
}

// sortedCopy returns a heap copy of ps (at most stackParams of them) sorted
// by key, keeping the last of equal keys, with room for the params that
// callbacks typically Set when there are callbacks. It sorts indexes, not
// the params themselves, and copies each param once.
func (l *Logger) sortedCopy(ps []Param) []Param {
	var idx [stackParams]uint8
	n := len(ps)
	for i := range n {
		idx[i] = uint8(i)
	}
	for i := 1; i < n; i++ {
		for j := i; j > 0 && ps[idx[j]].Key < ps[idx[j-1]].Key; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	spare := 0
	if len(l.callbacks) > 0 {
		spare = 2
	}
	out := make([]Param, 0, n+spare)
	for i := range n {
		if i+1 < n && ps[idx[i+1]].Key == ps[idx[i]].Key {
			continue // the later of equal keys wins
		}
		out = append(out, ps[idx[i]])
	}
	return out
}

// stackParams is how many params buildParams sorts on the stack.
const stackParams = 16

// gather appends the static params, the given ones and the call's to dst.
func (l *Logger) gather(dst []Param, a *args, given []Param) []Param {
	dst = append(dst, l.params...)
	for _, p := range given {
		dst = append(dst, Param{Key: p.Key, Value: limitValue(p.Value, l.c.opts.MaxValueBytes)})
	}
	if a != nil {
		dst = a.appendTo(dst, l.c.opts.MaxValueBytes)
	}
	return dst
}

// sortUnique sorts params by key, stably, and keeps the last of equal keys.
// Short lists (the usual case) use an insertion sort, which allocates
// nothing.
func sortUnique(ps []Param) []Param {
	if len(ps) > stackParams {
		slices.SortStableFunc(ps, func(a, b Param) int { return strings.Compare(a.Key, b.Key) })
	}
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Key < ps[j-1].Key; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	out := ps[:0]
	for i, p := range ps {
		if i+1 < len(ps) && ps[i+1].Key == p.Key {
			continue
		}
		out = append(out, p)
	}
	return out
}

func limitValue(v Value, max int) Value {
	if max <= 0 || len(v.str) <= max {
		return v
	}
	switch v.kind {
	case KindString, KindJSON:
		return StringValue(Truncate(v.str, max))
	}
	return v
}

func (l *Logger) runCallback(ctx context.Context, cb Callback, e *Event) {
	defer func() {
		if r := recover(); r != nil {
			buf := make([]byte, 4096)
			buf = buf[:runtime.Stack(buf, false)]
			l.c.opts.ErrorHandler(fmt.Errorf("audit: callback panicked on event %s: %v\n%s", e.ID, r, buf))
		}
	}()
	cb(ctx, e)
}

// Set sets the param key to AnyValue(value), keeping Params sorted. Use it in
// callbacks to add persistent params.
func (e *Event) Set(key string, value any) {
	v := AnyValue(value)
	for i := range e.Params {
		switch {
		case e.Params[i].Key == key:
			e.Params[i].Value = v
			return
		case e.Params[i].Key > key:
			e.Params = append(e.Params, Param{})
			copy(e.Params[i+1:], e.Params[i:])
			e.Params[i] = Param{Key: key, Value: v}
			return
		}
	}
	e.Params = append(e.Params, Param{Key: key, Value: v})
}

// Flush returns once every event logged before it has been delivered to the
// store and to every sink (or given up, see [Stats]), and stores and sinks
// implementing [Flusher] have been flushed; or when ctx ends, with its error.
func (l *Logger) Flush(ctx context.Context) error {
	c := l.c
	c.inflight.Add(1)
	if c.closed.Load() {
		c.inflight.Add(-1)
		return ErrClosed
	}
	var marks []chan struct{}
	if c.spool != nil {
		marks = c.spoolFlush()
	} else {
		marks = make([]chan struct{}, len(c.pipes))
		for i, p := range c.pipes {
			marks[i] = make(chan struct{})
			p.q.push(item{flush: marks[i]}) // flush markers always fit
		}
	}
	c.inflight.Add(-1)
	for _, m := range marks {
		select {
		case <-m:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return flushDests(ctx, c.dests())
}

// dests returns every pipe whose destination may need flushing and closing:
// the store's (also in Sync mode, where it has no goroutine) and the sinks'.
func (c *core) dests() []*pipe {
	if c.store != nil && c.opts.Sync {
		return append([]*pipe{c.store}, c.sinks...)
	}
	return c.pipes
}

func flushDests(ctx context.Context, pipes []*pipe) error {
	var errs []error
	for _, p := range pipes {
		if f, ok := p.dest.(Flusher); ok {
			if err := f.Flush(ctx); err != nil {
				errs = append(errs, fmt.Errorf("audit: flush %s: %w", p.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Close flushes everything queued, stops every goroutine the Logger started,
// and, with Options.CloseStore / CloseSinks, closes the store and sinks. It
// honours ctx: when ctx ends first, writes in flight are cancelled, the
// events not delivered are counted as failed and reported, and Close returns
// ctx's error by the deadline. A store or sink that ignores its context is
// not waited for: its goroutine ends when that write returns.
// Close is idempotent: later calls return the first call's result. Logging
// after Close returns [ErrClosed].
func (l *Logger) Close(ctx context.Context) error {
	c := l.c
	c.once.Do(func() { c.closeErr = c.close(ctx) })
	return c.closeErr
}

func (c *core) close(ctx context.Context) error {
	c.closed.Store(true)
	close(c.closing)
	// Wait for calls that passed the closed check to finish queueing.
	for c.inflight.Load() > 0 {
		if ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Microsecond)
	}
	for _, p := range c.pipes {
		close(p.stop)
	}
	var errs []error
	for _, p := range c.pipes {
		select {
		case <-p.done:
		case <-ctx.Done():
		}
	}
	// Writes in flight and retries give up now. A destination that does not
	// honour its context may still hold a batch: Close does not wait for it
	// past ctx, and reports what was not delivered.
	c.cancel()
	for _, p := range c.pipes {
		select {
		case <-p.done:
		default:
			if p.reader != nil {
				p.report(fmt.Errorf("audit: %s: close left %d events in the spool for the next start: %w", p.name, p.reader.Unacked(), ctx.Err()))
			}
			if n := p.q.abandon(); n > 0 {
				p.failed.Add(uint64(n))
				p.report(fmt.Errorf("audit: %s: close gave up with %d events undelivered: %w", p.name, n, ctx.Err()))
			}
		}
	}
	defer func() {
		for _, p := range c.dests() {
			p.drops.close()
		}
	}()
	// A call still queueing when ctx ended may have queued after its pipe
	// drained: count and report such events rather than leave them behind.
	for _, p := range c.pipes {
		n := 0
		for _, it := range p.q.take(nil) {
			if it.flush != nil {
				close(it.flush)
				continue
			}
			n++
		}
		if n > 0 {
			p.received.Add(uint64(n))
			p.q.release(n, func() { p.failed.Add(uint64(n)) })
			p.report(fmt.Errorf("audit: %s: %d events queued after close gave up: %w", p.name, n, ctx.Err()))
		}
	}
	if c.spool != nil {
		if err := c.releaseSpool(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	} else {
		if err := flushDests(ctx, c.dests()); err != nil {
			errs = append(errs, err)
		}
	}
	if c.opts.CloseStore && c.store != nil {
		if cl, ok := c.store.dest.(Closer); ok {
			if err := cl.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("audit: close store: %w", err))
			}
		}
	}
	if c.opts.CloseSinks {
		for _, p := range c.sinks {
			if cl, ok := p.dest.(Closer); ok {
				if err := cl.Close(ctx); err != nil {
					errs = append(errs, fmt.Errorf("audit: close %s: %w", p.name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Stats returns the delivery counters; see [Stats].
func (l *Logger) Stats() Stats {
	c := l.c
	var s Stats
	if c.store != nil {
		ps := c.store.stats()
		s.Logged, s.Written, s.Failed, s.Retried, s.QueueDepth = ps.Logged, ps.Written, ps.Failed, ps.Retried, ps.QueueDepth
	}
	s.Refused = c.refused.Load()
	s.Dropped = c.dropped.Load() + s.Refused
	for _, p := range c.sinks {
		s.Sinks = append(s.Sinks, p.stats())
	}
	return s
}
