package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/auditkit/audit/internal/callstack"
)

// Param names and prefixes the Logger writes: those of function-call events
// ([Logger.Call], [Do]), whose inputs and outputs are told apart by their
// prefix so that a reader can lay the events out as a table of users, times,
// inputs and outputs; those describing an error; and [BadArgKey].
const (
	// InputPrefix starts the key of each input param: "in.amount".
	InputPrefix = "in."
	// OutputPrefix starts the key of each output param: "out.balance".
	OutputPrefix = "out."
	// FunctionParam is the param holding the name of the function called
	// (or of the goroutine run by [Logger.Go]).
	FunctionParam = "function"
	// MSParam is the param holding how long the call took, in whole
	// milliseconds (an int64, so SQL readers can cast it with value::int);
	// Event.Duration has the exact duration.
	MSParam = "ms"
	// ErrorTypeParam is the param holding the Go type of an error or of a
	// panic value, as [Logger.Error] records it: the most specific type in
	// the error's chain, skipping generic wrappers (see [ErrorChainParam]
	// for the whole chain).
	ErrorTypeParam = "error_type"
	// ErrorChainParam is the param holding the chain of an error that wraps
	// others, as [Logger.Error] and failed calls record it: a JSON array of
	// {"type", "message"} objects, the error itself first, then what it wraps
	// (depth first through [errors.Join]), at most 16 entries.
	ErrorChainParam = "error_chain"
	// BadArgKey prefixes the key of a logging argument the Logger cannot
	// read as params: an argument that is neither a Param, a []Param, a
	// map[string]any, a string nor nil is kept as the param "!BADARG<n>" (n
	// its position among the arguments after the message, from 0), with
	// [AnyValue] of a copy of it, rather than dropped. Two kinds of values
	// are recorded by their type only, as an "!ERROR: <type> not recorded
	// ..." string, because they may refer to memory of the caller's stack
	// frame that the Logger cannot copy safely: maps other than
	// map[string]any, map[string]string and map[string]int, and structs or
	// arrays of a single pointer. Pass such values with [Any] to record them.
	BadArgKey = "!BADARG"
)

// Call is a function call being recorded: [Logger.Call] starts it with the
// call's inputs and [Call.End] records it, once, with its outputs or error,
// as one event. Its methods are safe for concurrent use.
type Call struct {
	l     *Logger
	ctx   context.Context
	typ   string
	name  string
	start time.Time
	in    []Param

	mu    sync.Mutex
	out   []Param
	ended bool
}

// Call starts recording a call of the function name with the given inputs;
// end it with [Call.End]. The inputs are converted now (see [AnyValue]), so
// the caller may change the map and its values afterwards.
//
// The event is of type typ, [TypeFunctionCall] by default, and attributed through
// ctx (see [WithSubject]) or to the logger's subject. Its Time is when Call
// was called, its Duration how long until End; its params are
// [FunctionParam] (name), each input prefixed with [InputPrefix], each
// output prefixed with [OutputPrefix], and [MSParam]. A call that succeeds
// is an audit-level event with name as its message; one that fails is an
// error-level event (see [Call.End]).
func (l *Logger) Call(ctx context.Context, name string, inputs map[string]any, typ ...string) *Call {
	if ctx == nil {
		ctx = context.Background()
	}
	c := &Call{l: l, ctx: ctx, typ: TypeFunctionCall, name: name, start: l.Now()}
	if len(typ) > 0 && typ[0] != "" {
		c.typ = typ[0]
	}
	c.in = make([]Param, 0, len(inputs)+1)
	c.in = append(c.in, Param{Key: FunctionParam, Value: StringValue(name)})
	for k, v := range inputs {
		c.in = append(c.in, P(InputPrefix+k, v))
	}
	return c
}

// Output sets one output of the call, as if given to End (where a key given
// again wins). It lets a function record outputs as it produces them, or
// from a deferred End. Outputs set after End are ignored.
func (c *Call) Output(key string, value any) {
	p := P(OutputPrefix+key, value)
	c.mu.Lock()
	if !c.ended {
		c.out = append(c.out, p)
	}
	c.mu.Unlock()
}

// End records the call with its outputs and error, and returns the error of
// logging it (as [Logger.LogEvent] does), not err.
//
// When err is nil the event is of level audit. Otherwise it is the error
// itself: level error, err's message as the event's message, err's Go type
// in [ErrorTypeParam], and the stack of End's caller as its StackTrace, so
// failures of the same call site group by [Event.Fingerprint]. When err is a
// [*PanicError] the panic's own stack is used instead.
//
// The event is logged even when the call's context has been cancelled (a
// call that failed because its context ended must still be recorded); its
// values, such as the attribution, still apply. End records a call once:
// later calls return an error and record nothing.
func (c *Call) End(outputs map[string]any, err error) error {
	var stack string
	if err != nil {
		var pe *PanicError
		if errors.As(err, &pe) && pe.Stack != "" {
			stack = pe.Stack
		} else {
			stack = callstack.Capture(1)
		}
	}
	return c.end(outputs, err, stack)
}

func (c *Call) end(outputs map[string]any, err error, stack string) error {
	d := c.l.Now().Sub(c.start)
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return fmt.Errorf("audit: call of %q already ended", c.name)
	}
	c.ended = true
	out := c.out
	c.mu.Unlock()

	ps := make([]Param, 0, len(c.in)+len(out)+len(outputs)+2)
	ps = append(ps, c.in...)
	ps = append(ps, out...)
	for k, v := range outputs {
		ps = append(ps, P(OutputPrefix+k, v))
	}
	ps = append(ps, Param{Key: MSParam, Value: Int64Value(d.Milliseconds())})
	e := Event{
		Time:     c.start,
		Level:    LevelAudit,
		Type:     c.typ,
		Message:  c.name,
		Duration: d,
	}
	if err != nil {
		e.Level = LevelError
		e.Message, e.StackTrace = errorMessage(err), failureStack(err, stack)
		ps = append(ps, errorParams(err)...)
	}
	e.Params = ps
	return c.l.LogEvent(context.WithoutCancel(c.ctx), e)
}

// errorMessage returns err.Error(), recovering from a panicking Error method.
func errorMessage(err error) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("!ERROR: panic in %T.Error: %v", err, r)
		}
	}()
	return err.Error()
}

// failureStack returns the stack to record for a failed call: the stack err
// carries, else stack (where the failure was seen). A panic's own stack,
// which stack then is, wins over one its value carries: it is where the
// program failed.
func failureStack(err error, stack string) string {
	if _, ok := err.(*PanicError); ok {
		return stack
	}
	if carried := carriedStack(err); carried != "" {
		return carried
	}
	return stack
}

// Do runs fn as a recorded function call: [Logger.Call] with name and
// inputs, then [Call.End] with fn's result and error; it returns what fn
// returns. So an error returned by fn is logged, as an error event of the
// call, without extra code. The result is recorded as the output "result"
// ([OutputPrefix] + "result"), unless fn failed or T is struct{} (a
// function with no result); use [Logger.Call] to name several outputs.
//
// fn receives ctx. If fn panics, the call is recorded as failed with a
// [*PanicError] (its message, the panic value's type and the panic's stack)
// and the panic continues: Do does not change the control flow of the
// program. Unless the Logger is synchronous, the event is queued, so a
// panic that then ends the process may lose it; [Logger.Go] runs a function
// whose panics are recovered.
func Do[T any](ctx context.Context, l *Logger, name string, inputs map[string]any, fn func(context.Context) (T, error)) (T, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	c := l.Call(ctx, name, inputs)
	returned := false
	defer func() {
		if returned {
			return
		}
		r := recover()
		if r == nil { // runtime.Goexit
			_ = c.end(nil, errGoexit, callstack.Capture(1))
			return
		}
		pe := &PanicError{Value: r, Stack: callstack.Panic()}
		_ = c.end(nil, pe, pe.Stack)
		panic(r)
	}()
	out, err := fn(ctx)
	returned = true
	var outputs map[string]any
	if _, none := any(out).(struct{}); !none && err == nil {
		outputs = map[string]any{"result": out}
	}
	var stack string
	if err != nil {
		stack = callstack.Capture(1)
	}
	_ = c.end(outputs, err, stack)
	return out, err
}

var errGoexit = errors.New("audit: function called runtime.Goexit")

// PanicError is the error recorded for a function that panicked, by [Do],
// [Logger.Go] and the audithttp middleware.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack, in the Go panic format,
	// starting at the function that panicked.
	Stack string
}

// Error returns "panic: " and the panic value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so [errors.Is] sees
// through the panic.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Go runs fn in a new goroutine and records how it fails: a panic in fn is
// recovered and logged as an error event (type [TypeError]) with the panic's
// stack, the value's Go type in [ErrorTypeParam] and name in
// [FunctionParam]; an error fn returns is logged the same way, with the
// stack of Go's caller. An error that is ctx's own cancellation (ctx is done
// and errors.Is(err, context.Canceled)) is not logged: stopping is not a
// failure. Events are attributed through ctx (see [WithSubject]); fn gets
// ctx as is, so pass [context.WithoutCancel] to outlive a request.
//
// Go does not re-panic: the process keeps running, and the failure is
// reported by the error event and by the returned channel, which receives
// fn's error (a [*PanicError] for a panic; nil on success) and is then
// closed. The channel is buffered, so it may be ignored. If the event
// cannot be logged (the Logger is closed, or its queue full), the failure
// is written to [slog.Default] instead, so it is never lost silently.
func (l *Logger) Go(ctx context.Context, name string, fn func(context.Context) error) <-chan error {
	if ctx == nil {
		ctx = context.Background()
	}
	pcs := callstack.Callers(1)
	done := make(chan error, 1)
	go func() {
		defer close(done)
		returned := false
		defer func() {
			if returned {
				return
			}
			r := recover()
			if r == nil { // runtime.Goexit
				done <- errGoexit
				return
			}
			pe := &PanicError{Value: r, Stack: callstack.Panic()}
			l.goFailed(ctx, name, pe, pe.Stack)
			done <- pe
		}()
		err := fn(ctx)
		returned = true
		if err != nil && !(ctx.Err() != nil && errors.Is(err, context.Canceled)) {
			l.goFailed(ctx, name, err, callstack.Format(pcs))
		}
		done <- err
	}()
	return done
}

// goFailed logs the failure of a goroutine run by Go.
func (l *Logger) goFailed(ctx context.Context, name string, err error, stack string) {
	e := Event{
		Level:      LevelError,
		Type:       TypeError,
		Message:    errorMessage(err),
		StackTrace: failureStack(err, stack),
		Params:     append([]Param{{Key: FunctionParam, Value: StringValue(name)}}, errorParams(err)...),
	}
	if lerr := l.LogEvent(context.WithoutCancel(ctx), e); lerr != nil {
		slog.Default().LogAttrs(ctx, slog.LevelError, "audit: goroutine failed and its event was not logged",
			slog.String("function", name), slog.String("error", e.Message),
			slog.String("stack", stack), slog.Any("log_error", lerr))
	}
}
