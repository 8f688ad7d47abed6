package audit

import "errors"

// Errors returned by the Logger and shared by stores and sinks. Test for them
// with [errors.Is]; they are usually wrapped with more context.
var (
	// ErrClosed is returned when logging to, flushing or writing through a
	// Logger (or store, or sink) that has been closed.
	ErrClosed = errors.New("audit: closed")

	// ErrQueueFull is returned (and counted as a drop) when an event cannot be
	// queued because the queue is full and the overflow policy gives up.
	ErrQueueFull = errors.New("audit: queue full")

	// ErrInvalidLevel reports a level that is not one of the declared levels.
	ErrInvalidLevel = errors.New("audit: invalid level")

	// ErrInvalidEvent reports an event that cannot be stored as given (for
	// example, without an ID or time when passed straight to a Store).
	ErrInvalidEvent = errors.New("audit: invalid event")

	// ErrInvalidCursor reports a pagination cursor that is not well formed.
	// Cursors are opaque: pass back only what [Page.Next] returned.
	ErrInvalidCursor = errors.New("audit: invalid cursor")

	// ErrInvalidOptions reports an invalid configuration field; the wrapping
	// error names the field.
	ErrInvalidOptions = errors.New("audit: invalid options")

	// ErrUnavailable reports that a store or sink could not be reached (the
	// connection failed or was cut). Such failures are worth retrying.
	ErrUnavailable = errors.New("audit: unavailable")

	// ErrConflict reports a constraint violation or conflicting concurrent
	// change in a store. Retrying the same input will not help.
	ErrConflict = errors.New("audit: conflict")
)
