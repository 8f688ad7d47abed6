package analysis

import (
	"math"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
)

// maxMS is the largest ms param read as a duration: the longest
// time.Duration, in milliseconds. Larger, negative, NaN and infinite values
// are not durations.
const maxMS = float64(math.MaxInt64 / int64(time.Millisecond))

// Duration returns how long the operation of e took: e.Duration when the
// Logger measured one, else its numeric [audit.MSParam] param (int64, uint64 or
// float64, between 0 and the longest time.Duration) in milliseconds. It
// reports false when e has neither. Every question that reads durations
// (Perf, Functions) follows the same rule in SQL.
func Duration(e *audit.Event) (time.Duration, bool) {
	if e.Duration > 0 {
		return e.Duration, true
	}
	for _, p := range e.Params {
		if p.Key != audit.MSParam {
			continue
		}
		var ms float64
		switch p.Value.Kind() {
		case audit.KindInt64:
			ms = float64(p.Value.Int64())
		case audit.KindUint64:
			ms = float64(p.Value.Uint64())
		case audit.KindFloat64:
			ms = p.Value.Float64()
		default:
			return 0, false
		}
		if !(ms >= 0 && ms <= maxMS) {
			return 0, false
		}
		return time.Duration(math.Round(ms * float64(time.Millisecond))), true
	}
	return 0, false
}

// durationSQL returns the SQL expression of the duration in nanoseconds of
// the event e, as [Duration] reads it (see [driver.DurationSQL]).
func durationSQL(d driver.Dialect) string { return driver.DurationSQL(d) }
