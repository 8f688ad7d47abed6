package dashboard

import (
	"testing"
	"time"

	"github.com/auditkit/audit/analysis"
)

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 950: "950", 1000: "1k", 1249: "1.2k", 12_345: "12k", 999_999: "999k", 1_500_000: "1.5M", 2_000_000_000: "2B", -1500: "-1.5k"} {
		if got := human(n); got != want {
			t.Errorf("human(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "–", 400 * time.Microsecond: "0.4 ms", 340 * time.Millisecond: "340 ms",
		1200 * time.Millisecond: "1.2 s", 90 * time.Second: "1.5 min", 3 * time.Hour: "3 h"} {
		if got := duration(d); got != want {
			t.Errorf("duration(%s) = %q, want %q", d, got, want)
		}
	}
	for m, want := range map[analysis.Metric]string{{Current: 3, Previous: 2}: "+50%", {Current: 1, Previous: 4}: "-75%", {Current: 2}: "new", {}: "0%"} {
		if got := change(m); got != want {
			t.Errorf("change(%+v) = %q, want %q", m, got, want)
		}
	}
}
