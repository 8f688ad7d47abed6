package analysis

import "errors"

// ErrInvalidRequest is wrapped by the errors of requests whose fields are
// out of range (a window that ends before it starts, a negative limit, ...).
// The message names the field.
var ErrInvalidRequest = errors.New("invalid request")
