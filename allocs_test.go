package audit_test

import (
	"context"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
)

// TestAllocs pins the hot path's allocations (log/slog's wantAllocs habit):
// one for the event's params, none for a disabled event. The caller's params
// map is built once, outside the measured function.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	for _, tc := range []struct {
		name string
		opts audit.Options
		log  func(*audit.Logger)
		want float64
	}{
		{"Log/5params", audit.Options{}, func(l *audit.Logger) { l.Log("m", params5, datagrok.QueryStart) }, 1},
		{"Log/10params", audit.Options{}, func(l *audit.Logger) { l.Log("m", params10) }, 1},
		{"Log/noparams", audit.Options{}, func(l *audit.Logger) { l.Log("m", nil) }, 0},
		{"Log/static+callback", audit.Options{
			Params:   map[string]any{"service": "billing"},
			Callback: func(_ context.Context, e *audit.Event) { e.Set("persistent", "value") },
		}, func(l *audit.Logger) { l.Log("m", params5) }, 2},
		{"Debug/disabled", audit.Options{Policy: nothing{}}, func(l *audit.Logger) { l.Debug("m", params5) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Store = discardStore{}
			tc.opts.QueueSize = 1 << 12
			l, err := audit.New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close(context.Background())
			if got := testing.AllocsPerRun(1000, func() { tc.log(l) }); got > tc.want {
				t.Errorf("%v allocations per event, want at most %v", got, tc.want)
			}
		})
	}
}
