package analysis

import (
	"encoding/json"
	"math"
	"time"

	"github.com/auditkit/audit"
)

// The results marshal to JSON in the style of [audit.Event.MarshalJSON]:
// snake_case names, durations in milliseconds (names ending _ms), params
// as objects. These methods write the fields that tags alone cannot.

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// paramObject is params as a JSON object.
func paramObject(ps []audit.Param) map[string]audit.Value {
	m := make(map[string]audit.Value, len(ps))
	for _, p := range ps {
		m[p.Key] = p.Value
	}
	return m
}

// MarshalJSON writes the percentiles in milliseconds.
func (s PerfStat) MarshalJSON() ([]byte, error) {
	type plain PerfStat
	return json.Marshal(struct {
		plain
		P50 float64 `json:"p50_ms"`
		P95 float64 `json:"p95_ms"`
		P99 float64 `json:"p99_ms"`
	}{plain(s), ms(s.P50), ms(s.P95), ms(s.P99)})
}

// MarshalJSON writes the mean duration in milliseconds.
func (s FunctionStat) MarshalJSON() ([]byte, error) {
	type plain FunctionStat
	return json.Marshal(struct {
		plain
		AvgDuration float64 `json:"avg_duration_ms"`
	}{plain(s), ms(s.AvgDuration)})
}

// MarshalJSON writes the duration in milliseconds and the inputs and
// outputs as objects.
func (c Call) MarshalJSON() ([]byte, error) {
	type plain Call
	return json.Marshal(struct {
		plain
		Inputs   map[string]audit.Value `json:"inputs"`
		Outputs  map[string]audit.Value `json:"outputs"`
		Duration float64                `json:"duration_ms"`
	}{plain(c), paramObject(c.Inputs), paramObject(c.Outputs), ms(c.Duration)})
}

// MarshalJSON writes the bucket width in milliseconds.
func (r FunctionsResult) MarshalJSON() ([]byte, error) {
	type plain FunctionsResult
	return json.Marshal(struct {
		plain
		Bucket float64 `json:"bucket_ms"`
	}{plain(r), ms(r.Bucket)})
}

// MarshalJSON writes the bucket width in milliseconds.
func (r OverviewResult) MarshalJSON() ([]byte, error) {
	type plain OverviewResult
	return json.Marshal(struct {
		plain
		Bucket float64 `json:"bucket_ms"`
	}{plain(r), ms(r.Bucket)})
}

// MarshalJSON adds the change, null when it is infinite (nothing in the
// previous window).
func (m Metric) MarshalJSON() ([]byte, error) {
	type plain Metric
	var change *float64
	if c := m.Change(); !math.IsInf(c, 0) && !math.IsNaN(c) {
		change = &c
	}
	return json.Marshal(struct {
		plain
		Change *float64 `json:"change"`
	}{plain(m), change})
}

// MarshalJSON writes the bucket width in milliseconds.
func (r ErrorsResult) MarshalJSON() ([]byte, error) {
	type plain ErrorsResult
	return json.Marshal(struct {
		plain
		Bucket float64 `json:"bucket_ms"`
	}{plain(r), ms(r.Bucket)})
}

// MarshalJSON writes the percentiles in milliseconds, beside the route
// flag and the start (not PerfStat's alone, which the embedding promotes).
func (b PerfBucket) MarshalJSON() ([]byte, error) {
	type plain PerfStat
	return json.Marshal(struct {
		Route bool      `json:"route"`
		Start time.Time `json:"start"`
		plain
		P50 float64 `json:"p50_ms"`
		P95 float64 `json:"p95_ms"`
		P99 float64 `json:"p99_ms"`
	}{b.Route, b.Start, plain(b.PerfStat), ms(b.P50), ms(b.P95), ms(b.P99)})
}

// MarshalJSON writes the bucket width in milliseconds.
func (r PerfResult) MarshalJSON() ([]byte, error) {
	type plain PerfResult
	return json.Marshal(struct {
		plain
		Bucket float64 `json:"bucket_ms"`
	}{plain(r), ms(r.Bucket)})
}
