package settings

import (
	"errors"
	"fmt"
)

// ErrInvalidPolicy reports a policy that cannot be used. The error wrapping
// it is a [FieldError], or several joined with [errors.Join].
var ErrInvalidPolicy = errors.New("settings: invalid policy")

// FieldError reports what is wrong with one field of a policy.
type FieldError struct {
	// Path names the field as in JSON: "rules[3].expires",
	// "levels.store[0]"; empty for the document as a whole.
	Path string
	// Reason says what is wrong.
	Reason string
}

// Error returns "settings: invalid policy: <path>: <reason>".
func (e *FieldError) Error() string {
	if e.Path == "" {
		return "settings: invalid policy: " + e.Reason
	}
	return "settings: invalid policy: " + e.Path + ": " + e.Reason
}

// Unwrap returns [ErrInvalidPolicy].
func (e *FieldError) Unwrap() error { return ErrInvalidPolicy }

func fieldErr(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Reason: fmt.Sprintf(format, args...)}
}
