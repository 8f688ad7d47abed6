package audit_test

import (
	"context"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
)

// TestAllocs pins the hot path's allocations (log/slog's wantAllocs habit):
// one for the event's params, none for a disabled event, none for
// redaction without an HMAC key. Typed params are
// built in the measured call, as users write them: they cost nothing more.
// Maps are built once, outside it (a map literal in the call costs the map
// and one allocation per boxed value, outside the Logger).
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
		{"Log/5typed", audit.Options{}, func(l *audit.Logger) {
			l.Log("m", audit.String("user", "alice"), audit.Object("query", "query", "q-42"),
				audit.Int("rows", 1234), audit.Float64("elapsed", 0.25), audit.Bool("cached", true),
				datagrok.QueryStart)
		}, 1},
		{"LogContext/5typed", audit.Options{}, func(l *audit.Logger) {
			l.LogContext(context.Background(), "m", audit.String("user", "alice"), audit.Object("query", "query", "q-42"),
				audit.Int("rows", rows()), audit.Float64("elapsed", 0.25), audit.Bool("cached", true))
		}, 1},
		{"Log/5typed/1redacted", audit.Options{}, func(l *audit.Logger) {
			l.Log("m", audit.String("user", "alice"), audit.String("Password", "hunter2"),
				audit.Int("rows", rows()), audit.SecretString("card", "4111"), audit.Bool("cached", true))
		}, 1},
		{"Log/5params", audit.Options{}, func(l *audit.Logger) { l.Log("m", params5, datagrok.QueryStart) }, 1},
		{"Log/10params", audit.Options{}, func(l *audit.Logger) { l.Log("m", params10) }, 1},
		{"Log/noparams", audit.Options{}, func(l *audit.Logger) { l.Log("m", nil) }, 0},
		{"Log/static+callback", audit.Options{
			Params:   map[string]any{"service": "billing"},
			Callback: func(_ context.Context, e *audit.Event) { e.Set("persistent", "value") },
		}, func(l *audit.Logger) { l.Log("m", params5) }, 2},
		{"Debug/disabled", audit.Options{Policy: nothing{}}, func(l *audit.Logger) { l.Debug("m", params5) }, 0},
		{"Debug/disabled/typed", audit.Options{Policy: nothing{}}, func(l *audit.Logger) {
			l.Debug("m", audit.String("user", "alice"), audit.Int("rows", rows()))
		}, 0},
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

var nrows int

// rows returns a value the compiler cannot fold into a constant.
//
//go:noinline
func rows() int { nrows++; return nrows }
