package analysis

import "errors"

// ErrInvalidRequest is wrapped by the errors of requests whose fields are
// out of range (a window that ends before it starts, a negative limit, ...).
// The message names the field.
var ErrInvalidRequest = errors.New("invalid request")

// ErrNotFound is wrapped by the error of [Analyzer.Event] when no event has
// the id.
var ErrNotFound = errors.New("not found")
