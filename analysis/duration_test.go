package analysis_test

import (
	"math"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
)

func TestDuration(t *testing.T) {
	cases := []struct {
		name     string
		measured time.Duration
		ms       any
		want     time.Duration
		ok       bool
	}{
		{"measured", 3 * time.Second, nil, 3 * time.Second, true},
		{"measured wins over ms", 3 * time.Second, 5, 3 * time.Second, true},
		{"int ms", 0, 250, 250 * time.Millisecond, true},
		{"uint ms", 0, uint64(7), 7 * time.Millisecond, true},
		{"float ms", 0, 1.5, 1500 * time.Microsecond, true},
		{"zero ms", 0, 0, 0, true},
		{"string ms", 0, "250", 0, false},
		{"negative ms", 0, -1, 0, false},
		{"NaN ms", 0, math.NaN(), 0, false},
		{"infinite ms", 0, math.Inf(1), 0, false},
		{"beyond time.Duration", 0, 1e300, 0, false},
		{"neither", 0, nil, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := audit.Event{Duration: c.measured, Params: []audit.Param{audit.P("x", 1)}}
			if c.ms != nil {
				e.Params = append(e.Params, audit.P(audit.MSParam, c.ms))
			}
			got, ok := analysis.Duration(&e)
			if got != c.want || ok != c.ok {
				t.Errorf("Duration = %v, %v; want %v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}
