package analysis_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
)

// longText returns n random letters: an id Postgres cannot compress into
// a btree row.
func longText(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return string(b)
}

// TestObjectQuestions asks an object's activity, usage and history on
// every store, for objects whose id or kind is too long for the object
// index of Postgres (found through the hash index instead), for an event
// that names its object twice (counted once), and with and without the
// kind.
func TestObjectQuestions(t *testing.T) {
	long := longText(5000)
	objects := []audit.Entity{audit.Ref("query", "q-1"), audit.Ref("query", long), audit.Ref(long, "q-1")}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s, mk := b.open(t)
			var events []audit.Event
			for i, obj := range objects {
				for j, age := range []time.Duration{time.Hour, 2 * time.Hour, 10 * audit.Day} { // the last one out of the 7-day window
					params := []audit.Param{audit.P("in.source", obj)}
					if j == 0 {
						params = append(params, audit.P("again", obj))
					}
					events = append(events, audit.Event{ID: uuid.Must(uuid.NewV7()), Time: now.Add(-age - time.Duration(i)*time.Minute),
						Level: audit.LevelAudit, Type: "query-run", Params: params})
				}
			}
			if err := s.Write(context.Background(), events); err != nil {
				t.Fatal(err)
			}
			a, err := mk(analysis.Options{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i, obj := range objects {
				kinds := []audit.Entity{obj}
				if i == 0 {
					kinds = append(kinds, audit.Ref("", obj.ID)) // any kind: q-1 of both kinds
				}
				for _, o := range kinds {
					want := 2
					if o.Kind == "" {
						want = 4
					}
					act, err := a.Activity(ctx, analysis.ActivityRequest{Object: o})
					if err != nil || len(act.Events) != want {
						t.Errorf("Activity(%.20s:%.20s): %d events, %v; want %d", o.Kind, o.ID, len(act.Events), err, want)
					}
					use, err := a.Usage(ctx, analysis.UsageRequest{Object: &o})
					if err != nil || use.Total != int64(want) {
						t.Errorf("Usage(%.20s:%.20s): %d events, %v; want %d", o.Kind, o.ID, use.Total, err, want)
					}
					hist, err := a.History(ctx, analysis.HistoryRequest{Object: o})
					if err != nil || hist.Events != want*3/2 {
						t.Errorf("History(%.20s:%.20s): %d events, %v; want %d", o.Kind, o.ID, hist.Events, err, want*3/2)
					}
					if lim, err := a.History(ctx, analysis.HistoryRequest{Object: o, Limit: 1}); err != nil || lim.Events != 1 || !lim.Truncated {
						t.Errorf("History(%.20s:%.20s, Limit 1): %d events, truncated %v, %v", o.Kind, o.ID, lim.Events, lim.Truncated, err)
					}
				}
			}
		})
	}
}
