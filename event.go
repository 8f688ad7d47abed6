package audit

import (
	"time"

	"github.com/google/uuid"
)

// Event is one audit record. Events built by the [Logger] are complete; an Event passed to
// [Logger.LogEvent] gets its missing ID, Time, Type and attribution filled in.
type Event struct {
	// ID is a UUIDv7, so ids sort by time. Stores are idempotent on it.
	ID uuid.UUID
	// Time is when the event happened, in UTC, truncated to microseconds (the
	// resolution of the SQL stores).
	Time time.Time
	// Level is the event's level.
	Level Level
	// Type is the record type: one of the Type constants ([TypeLog], ...),
	// a record type of package datagrok, or any custom string.
	Type string
	// Message is the human-readable description; for error events, the
	// error message.
	Message string
	// Params are the event's params, sorted by key, keys unique.
	Params []Param
	// StackTrace is the stack of an error event, as given or as captured.
	StackTrace string
	// Fingerprint is the hash of the functions on the stack trace (see
	// [Fingerprint]), so the same failure groups together. Empty when there
	// is no stack.
	Fingerprint string
	// SessionID and UserID attribute the event; either may be empty.
	SessionID string
	UserID    string
	// Duration is how long the operation took, for events that time one; zero
	// when not measured.
	Duration time.Duration
}

// Param returns the value of the param named key, and whether it exists.
func (e *Event) Param(key string) (Value, bool) {
	for _, p := range e.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return Value{}, false
}

// Entities returns the objects that the event's params reference.
func (e *Event) Entities() []Entity {
	var out []Entity
	for _, p := range e.Params {
		if ent, ok := p.Value.Entity(); ok {
			out = append(out, ent)
		}
	}
	return out
}

// IsError reports whether the event is an error (level error).
func (e *Event) IsError() bool { return e.Level == LevelError }

// Subject is who an event is attributed to: the user, the groups the user
// belongs to (as the host application resolves them; settings use them), and
// the session. Package, when set, is the component that logs
// ([Logger.WithPackage]); settings may scope rules to it.
type Subject struct {
	UserID    string
	Groups    []string
	SessionID string
	Package   string
}

// The record types (Event.Type) the library itself emits. Datagrok's
// catalogue of record types is in package [github.com/auditkit/audit/datagrok];
// custom types are plain strings.
const (
	TypeLog          = "log"           // Logger.Log, Logger.Info, Logger.Debug, Logger.Warning
	TypeUsage        = "usage"         // Logger.Usage
	TypeError        = "error"         // Logger.Error
	TypeFunctionCall = "function-call" // Logger.Call, Logger.Do, Logger.Go
	TypeHTTPRequest  = "http-request"  // audithttp
)
