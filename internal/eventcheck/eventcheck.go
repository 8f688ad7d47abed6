// Package eventcheck holds the rules every store applies to the events it
// is given, so that the memory store and the SQL stores refuse the same
// events.
package eventcheck

import (
	"fmt"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
)

// MinTime and MaxTime bound the event times the stores accept.
var (
	MinTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// Check checks what every store requires of an event: an id, a time in
// [MinTime, MaxTime], a valid level and unique param keys. The error wraps
// [audit.ErrInvalidEvent].
func Check(e *audit.Event) error {
	switch {
	case e.ID == uuid.Nil:
		return fmt.Errorf("%w: no id", audit.ErrInvalidEvent)
	case e.Time.IsZero():
		return fmt.Errorf("%w: event %s has no time", audit.ErrInvalidEvent, e.ID)
	case e.Time.Before(MinTime) || e.Time.After(MaxTime):
		return fmt.Errorf("%w: event %s has time %s out of range", audit.ErrInvalidEvent, e.ID, e.Time)
	case !e.Level.Valid():
		return fmt.Errorf("%w: event %s has invalid level %d", audit.ErrInvalidEvent, e.ID, uint8(e.Level))
	}
	if n := len(e.Params); n > 1 {
		if n <= 16 {
			for i := 1; i < n; i++ {
				for j := 0; j < i; j++ {
					if e.Params[i].Key == e.Params[j].Key {
						return fmt.Errorf("%w: event %s has param %q twice", audit.ErrInvalidEvent, e.ID, e.Params[i].Key)
					}
				}
			}
		} else {
			seen := make(map[string]struct{}, n)
			for _, p := range e.Params {
				if _, dup := seen[p.Key]; dup {
					return fmt.Errorf("%w: event %s has param %q twice", audit.ErrInvalidEvent, e.ID, p.Key)
				}
				seen[p.Key] = struct{}{}
			}
		}
	}
	return nil
}
