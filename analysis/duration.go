package analysis

import (
	"math"
	"strconv"
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
// the event e, as [Duration] reads it: e.duration_ns, else its numeric ms
// param; NULL when it has neither. The CASE keeps the cast away from
// values that are not numbers.
func durationSQL(d driver.Dialect) string {
	return `coalesce(e.duration_ns, (SELECT m.ms * 1000000 FROM (SELECT CASE
  WHEN p.type IN ('int64', 'uint64', 'float64') AND v.value NOT IN ('NaN', '+Inf', '-Inf') THEN ` + d.CastFloat("v.value") + ` END AS ms
 FROM {event_parameter_values} v JOIN {event_parameters} p ON p.id = v.parameter_id
 WHERE v.event_id = e.id AND p.name = '` + audit.MSParam + `') m
 WHERE m.ms BETWEEN 0 AND ` + strconv.FormatInt(int64(maxMS), 10) + ` LIMIT 1))`
}
