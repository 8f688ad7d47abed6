package cloudwatch_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/cloudwatch"
	"github.com/auditkit/audit/export/cloudwatch/cloudwatchtest"
	"github.com/auditkit/audit/export/sinktest"
)

func TestConformance(t *testing.T) {
	var stall func() // the server of the sink New made last
	sinktest.Run(t, sinktest.Harness{
		New: func(t testing.TB) (audit.Sink, sinktest.Reader) {
			srv := cloudwatchtest.NewServer(cloudwatchtest.Options{})
			t.Cleanup(srv.Close)
			stall = func() { srv.SetLatency(time.Hour) }
			x, err := cloudwatch.New(cloudwatch.Options{
				Blocks:   []cloudwatch.Block{{LogGroup: "/app/audit"}},
				Client:   srv.Client(),
				RetryMin: time.Millisecond,
				RetryMax: 5 * time.Millisecond,
				OnError:  func(error) {},
			})
			if err != nil {
				t.Fatal(err)
			}
			return x, func(t testing.TB) []uuid.UUID {
				var out []uuid.UUID
				for _, stream := range srv.Streams("/app/audit") {
					for _, e := range srv.Events("/app/audit", stream) {
						var m struct {
							ID uuid.UUID `json:"id"`
						}
						if err := json.Unmarshal([]byte(e.Message), &m); err != nil {
							t.Fatalf("message %.80q: %v", e.Message, err)
						}
						out = append(out, m.ID)
					}
				}
				return out
			}
		},
		// CloudWatch refuses events older than 14 days.
		Refuse: func(e *audit.Event) { e.Time = e.Time.Add(-15 * 24 * time.Hour) },
		Stall:  func() { stall() },
	})
}
