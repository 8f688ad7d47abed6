package audit

import (
	"context"
	"errors"
)

// Sink receives batches of events as they are posted, independently of the
// store (CloudWatch, a JSON-lines writer, ...). The Logger gives each sink its own bounded queue, batcher and retries,
// so a slow or failing sink never blocks the store or the other sinks.
//
// Send may be called again with the same events after an error; sinks that
// can, deduplicate on Event.ID. A Send must not keep or modify the slice after
// it returns. Sinks may also implement [Flusher] and [Closer].
type Sink interface {
	Send(ctx context.Context, events []Event) error
}

// Flusher is implemented by stores and sinks that buffer internally; the
// Logger calls Flush from [Logger.Flush] after handing them everything.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Closer is implemented by stores and sinks that hold resources; the Logger
// calls Close from [Logger.Close] after the final flush, when it owns them
// (see Options.CloseStore and Options.CloseSinks).
type Closer interface {
	Close(ctx context.Context) error
}

// BatchSizer is implemented by stores and sinks that want batches of their
// own size rather than Options.BatchSize (a CloudWatch request holds up to
// 10,000 events). A size <= 0 means the Logger's.
type BatchSizer interface {
	BatchSize() int
}

// Namer is implemented by sinks that name themselves in [Stats]; otherwise
// the Logger names a sink by its Go type and position.
type Namer interface {
	Name() string
}

// PartialError is returned by a store or sink whose write delivered all of a
// batch but Lost of its events, which are lost for good (the destination
// refused them in a way retrying cannot fix) and which the destination has
// already reported itself, with their IDs, through its own error callback.
// The Logger counts the Lost events as failed and the rest as written, and
// neither retries the batch nor reports the loss a second time.
type PartialError struct {
	Lost int
	Err  error
}

// Error implements error.
func (e *PartialError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *PartialError) Unwrap() error { return e.Err }

// permanentError marks an error that retrying will not fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent wraps err so the Logger does not retry the batch that caused it:
// the batch is counted as failed and reported at once. Stores and sinks use it
// for input the destination will never accept. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was made by
// [Permanent], or is [ErrInvalidEvent] or [ErrConflict].
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p) || errors.Is(err, ErrInvalidEvent) || errors.Is(err, ErrConflict)
}
