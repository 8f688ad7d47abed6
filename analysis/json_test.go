package analysis_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
)

// TestResultJSON checks the JSON style of the results: snake_case names,
// durations in milliseconds, params as objects, events in their one shape.
func TestResultJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		v    any
		want string
	}{
		{analysis.PerfStat{Name: "query-start", Count: 3, ErrorRate: 0.5, P50: 1500 * time.Microsecond, P95: 2 * time.Second, P99: 0},
			`{"name":"query-start","method":"","count":3,"errors":0,"error_rate":0.5,"p50_ms":1.5,"p95_ms":2000,"p99_ms":0}`},
		{analysis.Call{Time: at, User: "bob", Function: "Sum", Inputs: []audit.Param{audit.P("a", 1)}, Duration: time.Millisecond},
			`{"id":"00000000-0000-0000-0000-000000000000","time":"2026-01-02T03:04:05Z","user_id":"bob","session_id":"","function":"Sum","error":"","inputs":{"a":1},"outputs":{},"duration_ms":1}`},
		{analysis.PerfBucket{Route: true, Start: at, PerfStat: analysis.PerfStat{Name: "/items", Method: "GET", Count: 2, P50: time.Millisecond}},
			`{"route":true,"start":"2026-01-02T03:04:05Z","name":"/items","method":"GET","count":2,"errors":0,"error_rate":0,"p50_ms":1,"p95_ms":0,"p99_ms":0}`},
		{analysis.PerfResult{Window: analysis.Window{Since: at, Until: at.Add(time.Hour)}, Bucket: 10 * time.Minute},
			`{"window":{"since":"2026-01-02T03:04:05Z","until":"2026-01-02T04:04:05Z"},"types":null,"routes":null,"bucket_ms":600000}`},
		{analysis.Metric{Current: 3, Previous: 2}, `{"current":3,"previous":2,"change":0.5}`},
		{analysis.Metric{Current: 3}, `{"current":3,"previous":0,"change":null}`},
		{analysis.Origin{Event: audit.Event{Time: at, Level: audit.LevelAudit}, Sources: []audit.Entity{audit.Ref("query", "q-1")}},
			`{"event":{"id":"00000000-0000-0000-0000-000000000000","time":"2026-01-02T03:04:05.000000Z","level":"audit","type":"","message":""},"sources":[{"kind":"query","id":"q-1"}]}`},
		{analysis.FeedPage{Events: []audit.Event{{Time: at, Level: audit.LevelInfo, UserID: "u"}}},
			`{"events":[{"id":"00000000-0000-0000-0000-000000000000","time":"2026-01-02T03:04:05.000000Z","level":"info","type":"","message":"","user_id":"u"}],"next":"","head":""}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		var got, want any
		json.Unmarshal(b, &got)
		json.Unmarshal([]byte(c.want), &want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%T: %s (-want +got):\n%s", c.v, b, diff)
		}
	}
}
