package audit

import (
	"fmt"
	"strings"
)

// Level is the severity and purpose of an event. In the SQL stores the
// level is kept in event_types.source.
//
// Levels are ordered only for compactness; they are not a verbosity scale:
// [LevelAudit] and [LevelUsage] are categories, not "more severe than error".
type Level uint8

// The levels.
const (
	LevelDebug Level = iota + 1
	LevelInfo
	LevelWarning
	LevelError
	LevelAudit
	LevelUsage

	levelCount = int(LevelUsage) + 1
)

var levelNames = [...]string{
	LevelDebug:   "debug",
	LevelInfo:    "info",
	LevelWarning: "warning",
	LevelError:   "error",
	LevelAudit:   "audit",
	LevelUsage:   "usage",
}

// Levels returns every valid level, in declaration order.
func Levels() []Level {
	return []Level{LevelDebug, LevelInfo, LevelWarning, LevelError, LevelAudit, LevelUsage}
}

// Valid reports whether l is one of the declared levels.
func (l Level) Valid() bool { return l >= LevelDebug && l <= LevelUsage }

// String returns the level's lower-case name ("debug", "audit", ...), or
// "level(N)" for an invalid level.
func (l Level) String() string {
	if l.Valid() {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", uint8(l))
}

// MarshalText implements [encoding.TextMarshaler]. It fails for an invalid level.
func (l Level) MarshalText() ([]byte, error) {
	if !l.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrInvalidLevel, uint8(l))
	}
	return []byte(levelNames[l]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]; see [ParseLevel].
func (l *Level) UnmarshalText(text []byte) error {
	v, err := ParseLevel(string(text))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// ParseLevel returns the level named s. Matching ignores case and surrounding
// space; "warn" is accepted for "warning".
func ParseLevel(s string) (Level, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "warn" {
		return LevelWarning, nil
	}
	for l := LevelDebug; l <= LevelUsage; l++ {
		if levelNames[l] == name {
			return l, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrInvalidLevel, s)
}
