package cloudwatch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/cloudwatch"
	"github.com/auditkit/audit/export/cloudwatch/cloudwatchtest"
)

// BenchmarkSend measures events per second through the exporter to the
// local server (real SDK client, HTTP on loopback, every rule checked), and
// how full the requests are against the limits of 10,000 events and
// 1,048,576 bytes.
func BenchmarkSend(b *testing.B) {
	cases := []struct {
		name   string
		batch  int // events per Send, as the Logger hands them
		msg    int // message bytes before formatting
		format cloudwatch.Format
	}{
		{"batch=512/msg=100/json", 512, 100, cloudwatch.FormatJSON}, // the Logger's default BatchSize
		{"batch=512/msg=100/text", 512, 100, cloudwatch.FormatText},
		{"batch=10000/msg=100/json", 10000, 100, cloudwatch.FormatJSON},
		{"batch=100/msg=10000/json", 100, 10000, cloudwatch.FormatJSON},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			srv := cloudwatchtest.NewServer(cloudwatchtest.Options{DiscardEvents: true})
			defer srv.Close()
			x, err := cloudwatch.New(cloudwatch.Options{
				Blocks: []cloudwatch.Block{{LogGroup: "/bench", Format: bc.format}},
				Client: srv.Client(),
			})
			if err != nil {
				b.Fatal(err)
			}
			defer x.Close(context.Background())
			batch := events(bc.batch, time.Now(), strings.Repeat("m", bc.msg))
			for i := range batch {
				batch[i].Params = []audit.Param{audit.P("query", audit.Ref("query", "q-42")), audit.P("rows", i)}
				batch[i].UserID = "alice"
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := x.Send(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			st := x.Stats()
			b.ReportMetric(float64(st.Events)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(st.Events)/float64(st.Requests), "events/req")
			b.ReportMetric(float64(st.Bytes)/float64(st.Requests), "B/req")
			b.ReportMetric(100*float64(st.Bytes)/float64(st.Requests)/cloudwatch.MaxRequestBytes, "%bytes-fill")
			b.ReportMetric(100*float64(st.Events)/float64(st.Requests)/cloudwatch.MaxBatchEvents, "%events-fill")
		})
	}
}
